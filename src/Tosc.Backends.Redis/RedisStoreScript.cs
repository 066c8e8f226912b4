namespace Tosc;

/// <summary>
/// The one server-side step behind every write: check the stored version, store the new state, publish it.
/// Called by its SHA1 (EVALSHA); a server that does not know it yet gets the text once (EVAL). See docs/redis-backend.md.
/// </summary>
internal static class RedisStoreScript
{
    /// <summary>ARGV[1] when the write is unconditional.</summary>
    public const string AnyVersion = "*";

    /// <summary>ARGV[1] when the write must only happen on an empty key.</summary>
    public const string NoVersion = "";

    /// <summary>The value of the marker field <c>tosc</c> in a store written with this layout.</summary>
    public const string FormatMarker = "1";

    /// <summary>Starts the message of a script error raised for a key that is not a Tosc store.</summary>
    public const string ForeignError = "TOSC_FOREIGN";

    /// <summary>How many recent commits the store remembers (fields <c>c:&lt;commit id&gt;</c>), to settle lost replies.</summary>
    public const int CommitHistory = 1000;

    /// <summary>The hash field that records the version a commit produced.</summary>
    public static string CommitField(Guid commitId) => "c:" + commitId.ToString("N");

    // KEYS[1]: the store hash.
    // ARGV[1]: the expected version ('*': any, '': the key must not exist), ARGV[2]: the payload,
    // ARGV[3]: the commit id, ARGV[4]: the change channel, ARGV[5]: the writing client's id.
    // Returns the new version as a decimal string, or nil on a version mismatch.
    //
    // A commit id that is still in the history returns the version it produced and changes nothing, so a
    // call that is repeated or delayed (its first reply was lost) can never apply a commit twice.
    // A new version is the server clock in microseconds, or the previous version + 1 when that is larger:
    // versions only grow while the key exists, and still do not repeat after the key was deleted, flushed
    // or lost in a restart without persistence (unless the server clock went backwards).
    // Every read happens before the first write, so an error leaves the key untouched.
    public static readonly string Text = $$"""
        local key = KEYS[1]
        local state = redis.pcall('HMGET', key, 'tosc', 'version', 'c:' .. ARGV[3])
        if state.err then
          return redis.error_reply('TOSC_FOREIGN ' .. redis.call('TYPE', key).ok)
        end
        local current = state[2]
        if state[1] ~= '1' then
          if state[1] then
            return redis.error_reply('TOSC_FOREIGN format ' .. state[1])
          end
          if redis.call('EXISTS', key) == 1 then
            return redis.error_reply('TOSC_FOREIGN hash')
          end
          current = false
        end
        if state[3] then
          return state[3]
        end
        if ARGV[1] ~= '*' and (current or '') ~= ARGV[1] then
          return false
        end
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
        redis.call('HSET', key, 'tosc', '1', 'version', version, 'data', ARGV[2], 'commit', ARGV[3],
          slot, ARGV[3], 'c:' .. ARGV[3], version)
        redis.call('PUBLISH', ARGV[4], version .. ' ' .. ARGV[3] .. ' ' .. ARGV[5])
        return version
        """;

    /// <summary>The SHA1 of <see cref="Text"/>: the name Redis caches the script under.</summary>
#pragma warning disable CA5350 // Redis names scripts by SHA1; this is an identifier, not security.
    public static readonly byte[] Sha1 = System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(Text));
#pragma warning restore CA5350
}
