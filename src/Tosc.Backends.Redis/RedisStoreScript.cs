namespace Tosc;

/// <summary>
/// The server-side steps behind every call that must see the store whole: write, append, read the log, compact. Each is
/// called by its SHA1 (EVALSHA); a server that does not know it yet gets the text once (EVAL). See docs/redis-backend.md.
/// </summary>
/// <remarks>
/// Every script takes KEYS[1] = the store hash and KEYS[2] = its log stream (so a cluster routes both to one slot), and
/// does all its reads before its first write, so an error leaves both keys untouched.
/// </remarks>
internal static class RedisStoreScript
{
    /// <summary>ARGV[1] of a write when it is unconditional.</summary>
    public const string AnyVersion = "*";

    /// <summary>ARGV[1] of a write when it must only happen on an empty key; ARGV[1] of a log read that wants the snapshot.</summary>
    public const string NoVersion = "";

    /// <summary>The marker of a store holding a whole state only (what release 1 writes, and what a first write creates).</summary>
    public const string WholeStateMarker = "1";

    /// <summary>The marker of a store with a log: the first append converts a <see cref="WholeStateMarker"/> store.</summary>
    public const string LogMarker = "2";

    /// <summary>Starts the message of a script error raised for a key that is not a Tosc store.</summary>
    public const string ForeignError = "TOSC_FOREIGN";

    /// <summary>
    /// The largest record an append sends with its change message, so watchers apply it without reading the log;
    /// larger ones are announced only (see docs/wire-format.md).
    /// </summary>
    public const int PushLimit = 16 * 1024;

    /// <summary>How many recent commits the store remembers (fields <c>c:&lt;commit id&gt;</c>), to settle lost replies.</summary>
    public const int CommitHistory = 1000;

    /// <summary>The Lua source of <see cref="Write"/> (what the raw-primitive benchmark calls).</summary>
    public static string Text => Write.Text;

    // Reads the fields named after the key's own (HMGET key tosc <fields...>) into `state` and checks the layout:
    // `marker` is '1', '2', or false for a missing key; anything else is a script error the client turns into
    // ToscDataException.
    private static string Prologue(string fields) => $$"""
        local key, log = KEYS[1], KEYS[2]
        local state = redis.pcall('HMGET', key, 'tosc', {{fields}})
        if state.err then
          return redis.error_reply('TOSC_FOREIGN ' .. redis.call('TYPE', key).ok)
        end
        local marker = state[1]
        if marker ~= '1' and marker ~= '2' then
          if marker then
            return redis.error_reply('TOSC_FOREIGN format ' .. marker)
          end
          if redis.call('EXISTS', key) == 1 then
            return redis.error_reply('TOSC_FOREIGN hash')
          end
          marker = false
        end
        """;

    // A new version: the server clock in microseconds, or the previous version + 1 when that is larger. Versions only
    // grow while the key exists, and still do not repeat after the key was deleted, flushed or lost in a restart
    // without persistence (unless the server clock went backwards). Then the commit joins the history of the last
    // CommitHistory commits (slots s:0..s:999 name the commit ids, so the oldest c:<id> can be dropped).
    private static readonly string NextVersion = $$"""
        local time = redis.call('TIME')
        local version = tonumber(time[1]) * 1000000 + tonumber(time[2])
        if current then
          version = math.max(version, tonumber(current) + 1)
        end
        version = string.format('%.0f', version)
        local slot = 's:' .. (redis.call('HINCRBY', key, 'seq', 1) % {{CommitHistory}})
        local evicted = redis.call('HGET', key, slot)
        if evicted then
          redis.call('HDEL', key, 'c:' .. evicted)
        end
        redis.call('HSET', key, slot, commit, 'c:' .. commit, version)
        """;

    /// <summary>
    /// A whole-state write. ARGV[1]: the expected version (<see cref="AnyVersion"/>, <see cref="NoVersion"/>: the key must
    /// not exist), ARGV[2]: the value, ARGV[3]: the commit id, ARGV[4]: the change channel, ARGV[5]: the writing client's
    /// id. Returns the new version as a decimal string, or nil on a version mismatch. A store with a log keeps its layout,
    /// with the value as its snapshot and the log emptied; any other store is written in layout 1.
    /// </summary>
    /// <remarks>
    /// A commit id that is still in the history returns the version it produced and changes nothing, so a call that is
    /// repeated or delayed (its first reply was lost) can never apply a commit twice.
    /// </remarks>
    public static readonly RedisScript Write = new($$"""
        local commit = ARGV[3]
        {{Prologue("'version', 'c:' .. commit")}}
        local current = marker and state[2]
        if state[3] then
          return state[3]
        end
        if ARGV[1] ~= '*' and (current or '') ~= ARGV[1] then
          return false
        end
        {{NextVersion}}
        if marker == '2' then
          redis.call('DEL', log)
          redis.call('HSET', key, 'snapshot', version, 'n', '0', 'bytes', '0', 'sn', '0', 'sbytes', '0')
        end
        redis.call('HSET', key, 'tosc', marker or '1', 'version', version, 'data', ARGV[2], 'commit', commit)
        redis.call('PUBLISH', ARGV[4], version .. ' ' .. commit .. ' ' .. ARGV[5])
        return version
        """);

    /// <summary>
    /// Appends a log record. ARGV[1]: the expected version, ARGV[2]: the record, ARGV[3]: the commit id, ARGV[4]: the
    /// change channel, ARGV[5]: the writing client's id; for a checked append, ARGV[6]: the read tokens and ARGV[7]: the
    /// write tokens (8 bytes each). Returns "&lt;version&gt; &lt;records&gt; &lt;bytes&gt;" (the records and their bytes
    /// after the snapshot), or nil when the store is empty or at another version. A checked append is also made at
    /// another version when the log holds the expected one and every entry after it has write tokens (field w) none of
    /// which is a read token; it stores its own write tokens and returns an array: that summary, then each entry it was
    /// put after as (version, commit id, record), or the summary with " ?" when those entries are gone (a repeated call
    /// after a compaction). The first append to a layout-1 store converts it: its value becomes the snapshot.
    /// </summary>
    public static readonly RedisScript Append = new($$"""
        local commit = ARGV[3]
        {{Prologue("'version', 'c:' .. commit, 'n', 'bytes', 'sn', 'sbytes', 'snapshot'")}}
        local n, bytes, sn, sbytes = 0, 0, 0, 0
        if marker == '2' then
          n, bytes, sn, sbytes = tonumber(state[4]), tonumber(state[5]), tonumber(state[6]), tonumber(state[7])
        end
        local checked = ARGV[7] ~= nil
        local after = ARGV[1]
        -- Whether the log still holds the expected version (the snapshot's or an entry's).
        local function held()
          return after == state[8] or marker == '2' and #redis.call('XRANGE', log, after .. '-0', after .. '-0') > 0
        end
        -- The entries after the expected version up to `upto` (the head when nil), as (version, commit, record)
        -- triples after `reply`'s summary; false when one of them wrote a read token or has no write tokens.
        local function passed(reply, upto, reads)
          for _, entry in ipairs(redis.call('XRANGE', log, after .. '-1', upto and (upto .. '-0') or '+')) do
            local id = string.sub(entry[1], 1, -3)
            if id == upto then
              break
            end
            local fields, c, d, w = entry[2], '', '', nil
            for i = 1, #fields, 2 do
              if fields[i] == 'c' then c = fields[i + 1] elseif fields[i] == 'd' then d = fields[i + 1] elseif fields[i] == 'w' then w = fields[i + 1] end
            end
            if reads then
              if not w then
                return false
              end
              for i = 1, #w, 8 do
                if reads[string.sub(w, i, i + 7)] then
                  return false
                end
              end
            end
            reply[#reply + 1] = id
            reply[#reply + 1] = c
            reply[#reply + 1] = d
          end
          return reply
        end
        if state[3] then
          local summary = string.format('%s %.0f %.0f', state[3], n - sn, bytes - sbytes)
          if not checked then
            return summary
          end
          if not held() then
            return {summary .. ' ?'}
          end
          return passed({summary}, state[3], nil)
        end
        local current = marker and state[2]
        if not current then
          return false
        end
        local reply = {}
        if current ~= after then
          if not checked or not held() then
            return false
          end
          local reads = {}
          for i = 1, #ARGV[6], 8 do
            reads[string.sub(ARGV[6], i, i + 7)] = true
          end
          reply = passed({}, nil, reads)
          if not reply then
            return false
          end
        end
        -- A failing XADD would come after the first write (scripts are not rolled back): check the log key first.
        local kind = redis.call('TYPE', log).ok
        if kind ~= 'stream' and kind ~= 'none' then
          return redis.error_reply('TOSC_FOREIGN log ' .. kind)
        end
        {{NextVersion}}
        if marker == '1' then
          -- Converted in place: release 1 refuses the marker '2' instead of reading the snapshot as the whole state.
          redis.call('DEL', log)
          redis.call('HSET', key, 'tosc', '2', 'snapshot', current, 'sn', '0', 'sbytes', '0')
        end
        n = n + 1
        bytes = bytes + #ARGV[2]
        if checked then
          redis.call('XADD', log, version .. '-0', 'c', commit, 'n', string.format('%.0f', n), 'b', string.format('%.0f', bytes), 'd', ARGV[2], 'w', ARGV[7])
        else
          redis.call('XADD', log, version .. '-0', 'c', commit, 'n', string.format('%.0f', n), 'b', string.format('%.0f', bytes), 'd', ARGV[2])
        end
        redis.call('HSET', key, 'version', version, 'n', string.format('%.0f', n), 'bytes', string.format('%.0f', bytes))
        if #ARGV[2] <= {{PushLimit}} then
          redis.call('PUBLISH', ARGV[4], version .. ' ' .. commit .. ' ' .. current .. ' ' .. ARGV[2] .. ' ' .. ARGV[5])
        else
          redis.call('PUBLISH', ARGV[4], version .. ' ' .. commit .. ' ' .. ARGV[5])
        end
        local summary = string.format('%s %.0f %.0f', version, n - sn, bytes - sbytes)
        if not checked then
          return summary
        end
        table.insert(reply, 1, summary)
        return reply
        """);

    /// <summary>
    /// Reads the store. ARGV[1]: the version the caller has, or <see cref="NoVersion"/>. Returns an empty array for an
    /// empty store, else [marker, version, '0'] followed by the records after ARGV[1] when the store still holds that
    /// version (the snapshot's or a record's), or [marker, version, '1', snapshot version, snapshot commit id, snapshot]
    /// followed by every record; each record is three elements: its version, its commit id, its bytes.
    /// </summary>
    public static readonly RedisScript ReadLog = new($$"""
        {{Prologue("'version', 'snapshot'")}}
        if not marker then
          return {}
        end
        local after, head = ARGV[1], state[2]
        local snapshot = marker == '2' and state[3] or head
        local reply = {marker, head, '0'}
        if after ~= '' and after == head then
          return reply
        end
        local held = after ~= '' and (after == snapshot or marker == '2' and #redis.call('XRANGE', log, after .. '-0', after .. '-0') > 0)
        if not held then
          -- Only a reader that needs the snapshot pays for copying it.
          local stored = redis.call('HMGET', key, 'commit', 'data')
          reply = {marker, head, '1', snapshot, stored[1], stored[2]}
          if marker == '1' then
            return reply
          end
          after = snapshot
        end
        for _, entry in ipairs(redis.call('XRANGE', log, after .. '-1', '+')) do
          local fields, commit, data = entry[2], '', ''
          for i = 1, #fields, 2 do
            if fields[i] == 'c' then commit = fields[i + 1] elseif fields[i] == 'd' then data = fields[i + 1] end
          end
          reply[#reply + 1] = string.sub(entry[1], 1, -3)
          reply[#reply + 1] = commit
          reply[#reply + 1] = data
        end
        return reply
        """);

    /// <summary>
    /// Replaces the snapshot and drops the records up to it. ARGV[1]: the snapshot, ARGV[2]: its version. Returns '1', or
    /// nil when the store has no log, its snapshot is at or past ARGV[2], or the log holds no record of that version.
    /// No version changes and nothing is published.
    /// </summary>
    public static readonly RedisScript Compact = new($$"""
        {{Prologue("'snapshot', 'n'")}}
        if marker ~= '2' or tonumber(state[2]) >= tonumber(ARGV[2]) then
          return false
        end
        local found = redis.call('XRANGE', log, ARGV[2] .. '-0', ARGV[2] .. '-0')
        if #found == 0 then
          return false
        end
        local fields, entry = found[1][2], {}
        for i = 1, #fields, 2 do
          entry[fields[i]] = fields[i + 1]
        end
        redis.call('HSET', key, 'data', ARGV[1], 'commit', entry.c, 'snapshot', ARGV[2], 'sn', entry.n, 'sbytes', entry.b)
        redis.call('XTRIM', log, 'MAXLEN', string.format('%.0f', tonumber(state[3]) - tonumber(entry.n)))
        return '1'
        """);
}
