using System.Globalization;
using Tosc.Cli.Graph;
using Tosc.Security;
using Tosc.Serialization;

namespace Tosc.Cli.Stores;

/// <summary>One record of a store's log as the tool shows it: the version it made, its commit id, what it changed.</summary>
internal sealed record HistoryEntry(long Version, Guid CommitId, IReadOnlyList<GChange> Changes);

/// <summary>
/// A store read whole: the snapshot decoded without types and every log record after it applied, so
/// <see cref="State"/> is the state at <see cref="Version"/>. Protected stores need the key (docs/security.md).
/// </summary>
internal sealed class StoreContent
{
    private StoreContent(long version, long snapshotVersion, Guid commitId, GraphState state, List<HistoryEntry> history, byte? protectionMode)
    {
        Version = version;
        SnapshotVersion = snapshotVersion;
        CommitId = commitId;
        State = state;
        History = history;
        ProtectionMode = protectionMode;
    }

    public long Version { get; private set; }

    public long SnapshotVersion { get; private set; }

    public Guid CommitId { get; private set; }

    public GraphState State { get; }

    public List<HistoryEntry> History { get; }

    /// <summary>The snapshot's envelope mode (1 HMAC, 2 AES-GCM), or null when the store is not protected.</summary>
    public byte? ProtectionMode { get; }

    /// <summary>Reads the store; null when nothing is stored. Log records are applied only when the backend keeps a log.</summary>
    public static async Task<StoreContent?> ReadAsync(IBackend backend, byte[]? key, CancellationToken cancellationToken)
    {
        var stored = await ReadStoredAsync(backend, cancellationToken).ConfigureAwait(false);
        if (stored is null)
            return null;
        var content = FromSnapshot(stored, DecodeSnapshot(stored, key));
        content.Apply(stored.Log, key);
        return content;
    }

    /// <summary>The stored bytes: the snapshot and the log after it where the backend keeps one.</summary>
    public static async Task<StoredState?> ReadStoredAsync(IBackend backend, CancellationToken cancellationToken) =>
        backend is ToscBackend { SupportsLog: true } logged
            ? StoredState.FromLog(await logged.ReadLogAsync(null, cancellationToken).ConfigureAwait(false))
            : await backend.ReadAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Checks the snapshot's protection and header and decodes it.</summary>
    public static GValue DecodeSnapshot(StoredState stored, byte[]? key) =>
        GraphDecoder.DecodeValue(WireFormat.OpenValue(Unprotect(stored.Data, key, "The snapshot")));

    /// <summary>The content at the snapshot's version; <see cref="Apply"/> the log after it.</summary>
    public static StoreContent FromSnapshot(StoredState stored, GValue root) =>
        new(stored.SnapshotVersion, stored.SnapshotVersion, stored.Log.Count > 0 ? Guid.Empty : stored.CommitId, new GraphState(root), [], ModeOf(stored.Data));

    /// <summary>The envelope mode of protected bytes (1 HMAC, 2 AES-GCM), or null.</summary>
    public static byte? ModeOf(ReadOnlyMemory<byte> data) =>
        StateProtection.LooksProtected(data.Span) && data.Length >= Envelope.HeaderLength ? Envelope.ReadHeader(data.Span).Mode : null;

    /// <summary>Applies records that follow <see cref="Version"/>, in order, and adds them to <see cref="History"/>.</summary>
    public List<HistoryEntry> Apply(IReadOnlyList<LogRecord> records, byte[]? key)
    {
        var added = new List<HistoryEntry>();
        foreach (var record in records)
        {
            var body = WireFormat.OpenRecord(Unprotect(record.Data, key, string.Create(CultureInfo.InvariantCulture, $"The log record of version {record.Version}")));
            var changes = State.Apply(body, Version, record.CommitId);
            var entry = new HistoryEntry(record.Version, record.CommitId, changes);
            History.Add(entry);
            added.Add(entry);
            Version = record.Version;
            CommitId = record.CommitId;
        }
        return added;
    }

    /// <summary>Checks and removes the protection envelope; a protected store without the key, or a key for an unprotected store, is a data error.</summary>
    public static ReadOnlyMemory<byte> Unprotect(ReadOnlyMemory<byte> stored, byte[]? key, string what)
    {
        var isProtected = StateProtection.LooksProtected(stored.Span);
        if (key is null)
        {
            if (!isProtected)
                return stored;
            var (mode, keyId) = stored.Length >= Envelope.HeaderLength ? Envelope.ReadHeader(stored.Span) : ((byte)0, 0UL);
            throw new ToscDataException($"{what} is protected ({(mode == Envelope.Encrypted ? "AES-256-GCM" : "HMAC-SHA256")}, key id {Envelope.Id(keyId)}): pass the key in Base64 with --key or {Cli.KeyVariable}.");
        }
        if (!isProtected)
            throw new ToscDataException($"{what} is not protected, but a key was given: the store was written without protection (or by someone without the key).");
        return Protection(key, encrypt: false).Unprotect(stored);
    }

    /// <summary>The protection for writes: the key, in the mode the store's snapshot uses.</summary>
    public static StateProtection Protection(byte[] key, bool encrypt) =>
        encrypt ? StateProtection.Encrypt(key) : StateProtection.Authenticate(key);

    /// <summary>Wraps bytes to store the way this store is protected.</summary>
    public static ReadOnlyMemory<byte> Protect(StoreContent? content, ReadOnlyMemory<byte> plain, byte[]? key) =>
        key is null ? plain : Protection(key, content?.ProtectionMode == Envelope.Encrypted).Protect(plain);
}
