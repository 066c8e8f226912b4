using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tosc.Changes;
using Tosc.Transactions;
using Tosc.Diagnostics;
using Tosc.Live;
using Tosc.Serialization;

namespace Tosc;

/// <summary>
/// Owns one shared root value stored in an <see cref="IBackend"/> and hands out live objects for it:
/// changes to them are recorded and committed by compare-and-swap, and commits of other managers
/// are applied to them in place by a background watcher.
/// </summary>
/// <remarks>
/// A manager serializes its own transactions: while one flow (thread or async flow) runs a transaction,
/// changes from other flows wait. For parallel work, give each worker its own manager over one backend.
/// Reads from other threads during a transaction see its uncommitted changes. Work started inside a transaction
/// (<c>Task.Run</c>, a new thread) inherits it through the execution context, as with <c>TransactionScope</c>'s async flow.
/// </remarks>
public sealed partial class Manager : IDisposable, IAsyncDisposable
{
    private readonly ManagerOptions _options;
    private readonly BackendCalls _calls;
    private readonly ILogger _logger;
    private readonly TypeRegistry _registry = new();

    // What a manager with the same root type and options may read: the root types and KnownTypes, not what this
    // manager happened to write. A value outside it is refused at the write, so no commit makes the store unreadable.
    private readonly TypeRegistry _readable = new();
    private readonly EncodeContext _encoder;
    private readonly SemaphoreSlim _exclusive = new(1, 1);
    private readonly AsyncLocal<FlowBox?> _flow = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly OpEncoder? _ops;

    // The published state: the version and the live root always change together, under Gate.
    private long? _version;
    private object? _root;
    private Type _rootType = typeof(object);
    private bool _loaded;

    // Reachability bookkeeping for IsLinked: valid while no change happened since the last walk.
    private long _structureStamp;
    private long _linkedStamp = -1;
    private int _linkedEpoch;

    private ChangedEventArgs? _pendingChanged;
    private Task? _watcher;
    private int _disposed;

    /// <summary>Creates a manager over <paramref name="backend"/>. The manager does not dispose the backend.</summary>
    /// <param name="backend">The store; may be shared by many managers.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    public Manager(IBackend backend, ManagerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _options = options ?? new ManagerOptions();
        _options.Validate();
        _calls = new BackendCalls(backend, _options.BackendRetries);
        _logger = _options.Logger ?? NullLogger.Instance;
        _encoder = new EncodeContext(this, _registry) { Readable = _readable };
        foreach (var type in _options.KnownTypes)
            Allow(type);
        if (_options.DeltaCommits && _calls.Log is not null)
            _ops = new OpEncoder(this, _registry, _readable);
    }

    /// <summary>Raised after a state committed by another manager was applied to the live objects (on a background thread).</summary>
    public event EventHandler<ChangedEventArgs>? Changed;

    /// <summary>
    /// Raised when the stored state cannot be applied to the live objects (a type this manager does not allow, damaged
    /// bytes, a newer format): they keep the last state this manager could read, and its commits fail with the same
    /// <see cref="ToscDataException"/> until it can. Also logged as an error and counted (<c>tosc.refresh.failures</c>).
    /// </summary>
    public event EventHandler<RefreshFailedEventArgs>? RefreshFailed;

    /// <summary>The version the live objects show; <see langword="null"/> when nothing is stored or nothing was read yet.</summary>
    public long? Version
    {
        get
        {
            lock (Gate)
                return _version;
        }
    }

    /// <summary>The backend this manager stores its value in.</summary>
    public IBackend Backend => _calls.Backend;

    /// <summary>Guards the content of live nodes against concurrent readers.</summary>
    internal Lock Gate { get; } = new();

    internal TypeRegistry Registry => _registry;

    /// <summary>Returns the live root: the cached one when no change was seen, else reads the store.</summary>
    /// <returns>The root, or <see langword="null"/> when nothing is stored.</returns>
    public object? Read() => ReadCoreAsync(null, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Returns the live root as <typeparamref name="T"/>: a proxy for a user class, a DList/DDict/DSet for collections.</summary>
    /// <exception cref="InvalidOperationException">Nothing is stored yet.</exception>
    /// <exception cref="ToscDataException">The stored value cannot be decoded as <typeparamref name="T"/>.</exception>
    public T Read<T>() => Typed<T>(ReadCoreAsync(typeof(T), async: false, CancellationToken.None).GetAwaiter().GetResult());

    // Read, ReadAsync and ReadOrInitialize share ReadCoreAsync; `requireValue` is false only while initializing.

    /// <inheritdoc cref="Read()"/>
    public async Task<object?> ReadAsync(CancellationToken cancellationToken = default) =>
        await ReadCoreAsync(null, async: true, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="Read{T}()"/>
    public async Task<T> ReadAsync<T>(CancellationToken cancellationToken = default) =>
        Typed<T>(await ReadCoreAsync(typeof(T), async: true, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Returns the live root, storing <paramref name="create"/>'s value first when the store is empty.
    /// When several managers race to initialize, exactly one value is stored and all of them read it.
    /// </summary>
    public T ReadOrInitialize<T>(Func<T> create) => ReadOrInitializeCoreAsync(create, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="ReadOrInitialize{T}(Func{T})"/>
    public Task<T> ReadOrInitializeAsync<T>(Func<T> create, CancellationToken cancellationToken = default) =>
        ReadOrInitializeCoreAsync(create, async: true, cancellationToken).AsTask();

    /// <summary>Reads the store now and applies any newer state in place, then returns the live root.</summary>
    /// <exception cref="InvalidOperationException">Called inside a transaction (reads there are repeatable).</exception>
    public object? Refresh() => RefreshCoreAsync(null, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Refresh()"/>
    public T Refresh<T>() => Typed<T>(RefreshCoreAsync(typeof(T), async: false, CancellationToken.None).GetAwaiter().GetResult());

    /// <inheritdoc cref="Refresh()"/>
    public async Task<object?> RefreshAsync(CancellationToken cancellationToken = default) =>
        await RefreshCoreAsync(null, async: true, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="Refresh()"/>
    public async Task<T> RefreshAsync<T>(CancellationToken cancellationToken = default) =>
        Typed<T>(await RefreshCoreAsync(typeof(T), async: true, cancellationToken).ConfigureAwait(false));

    /// <summary>Replaces the stored value unconditionally. Live objects still reachable by identity stay valid; the rest are unlinked.</summary>
    /// <exception cref="InvalidOperationException">Called inside a transaction.</exception>
    public void Write(object? value) => WriteCoreAsync(value, expectedVersion: null, conditional: false, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Write(object?)"/>
    public async Task WriteAsync(object? value, CancellationToken cancellationToken = default) =>
        await WriteCoreAsync(value, expectedVersion: null, conditional: false, async: true, cancellationToken).ConfigureAwait(false);

    /// <summary>Replaces the stored value only when the store holds <paramref name="expectedVersion"/> (<see langword="null"/>: only when it is empty).</summary>
    /// <returns><see langword="true"/> when the value was stored.</returns>
    public bool TryWrite(object? value, long? expectedVersion) =>
        WriteCoreAsync(value, expectedVersion, conditional: true, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="TryWrite(object?, long?)"/>
    public async Task<bool> TryWriteAsync(object? value, long? expectedVersion, CancellationToken cancellationToken = default) =>
        await WriteCoreAsync(value, expectedVersion, conditional: true, async: true, cancellationToken).ConfigureAwait(false);

    /// <summary>A detached deep copy of the current state made of plain .NET objects (List, Dictionary, HashSet, byte[], new instances of your classes).</summary>
    public object? Snapshot() => SnapshotCore(null);

    /// <inheritdoc cref="Snapshot()"/>
    public T Snapshot<T>() => Typed<T>(SnapshotCore(typeof(T)));

    /// <summary>Whether <paramref name="value"/> is a live object of this manager that is still reachable from the root.</summary>
    public bool IsLinked(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var node = Nodes.Of(value);
        if (node is null || !ReferenceEquals(node.Header.Owner, this))
            return false;
        using (EnterExclusiveAsync(async: false, CancellationToken.None).GetAwaiter().GetResult())
        {
            if (Interlocked.Read(ref _structureStamp) != _linkedStamp)
                MarkReachable();
            return node.Header.Mark == _linkedEpoch;
        }
    }

    /// <summary>
    /// A value left its place in the graph (removed, replaced, cleared; here or by an applied record): it and what it
    /// holds may be unreachable now, so their next write checks (rare, and it costs a walk only then).
    /// </summary>
    internal void NoteRemoved(object? value)
    {
        if (Nodes.Of(value) is not { } removed || !ReferenceEquals(removed.Header.Owner, this) || removed.Header.Suspect)
            return;
        var pending = new Stack<ILiveNode>();
        pending.Push(removed);
        while (pending.TryPop(out var node))
        {
            if (node.Header.Suspect || !ReferenceEquals(node.Header.Owner, this))
                continue;
            node.Header.Suspect = true;
            node.PushChildren(pending);
        }
    }

    /// <summary>Every value of a content that was replaced whole (see <see cref="NoteRemoved(object?)"/>).</summary>
    internal void NoteAllRemoved<T>(IEnumerable<T> values)
    {
        foreach (var value in values)
            NoteRemoved(value);
    }

    /// <summary>For a write to a suspect node: whether it is still reachable from the root; if not, it leaves the graph for good.</summary>
    internal bool ConfirmLinked(ILiveNode node)
    {
        if (!IsLinked(node.Instance))
        {
            node.Header.Unlink();
            return false;
        }
        node.Header.Suspect = false;
        return true;
    }

    /// <summary>Whether <paramref name="value"/> is a live object of this manager changed by the running transaction and not yet committed.</summary>
    public bool IsDirty(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var node = Nodes.Of(value);
        return node is not null && ReferenceEquals(node.Header.Owner, this) && node.Header.Dirty;
    }

    /// <summary>Stops the watcher. Live objects keep their last state and stop changing. The backend is not disposed.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _stopping.Cancel();
    }

    /// <inheritdoc cref="Dispose"/>
    public async ValueTask DisposeAsync()
    {
        Dispose();
        if (_watcher is { } watcher)
            await watcher.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Lets this manager, and every reader with the same root type and options, read <paramref name="type"/>.</summary>
    private void Allow(Type type)
    {
        _registry.Register(type);
        _readable.Register(type);
    }

    private static T Typed<T>(object? root) => root is T typed ? typed : default(T) is null && root is null ? default! : throw new InvalidCastException($"The root is a {root?.GetType().FullName ?? "null"}, not a {TypeNames.Display(typeof(T))}.");

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);

    private async ValueTask<object?> ReadCoreAsync(Type? declared, bool async, CancellationToken cancellationToken, bool requireValue = true)
    {
        ThrowIfDisposed();
        if (declared is not null)
            Allow(declared);
        lock (Gate)
        {
            if (_loaded && Fits(declared))
                return Checked(declared, requireValue);
        }
        using (await EnterExclusiveAsync(async, cancellationToken).ConfigureAwait(false))
        {
            if (!_loaded || !Fits(declared))
            {
                var work = CurrentWork();
                if (work is { HasChanges: true })
                    throw new InvalidOperationException($"The root was read as {TypeNames.Display(_rootType)} and this transaction changed it; read it as {TypeNames.Display(declared!)} outside the transaction.");
                var type = declared ?? _rootType;
                Publish(await FetchAsync(type, async, cancellationToken).ConfigureAwait(false), type, reuse: _loaded);
                work?.Rebase(_version);
            }
            EnsureWatching();
            return Checked(declared, requireValue);
        }
    }

    private bool Fits(Type? declared) => declared is null || declared.IsInstanceOfType(_root) || (_root is null && _version is null);

    private object? Checked(Type? declared, bool requireValue = true)
    {
        if (declared is not null && _version is null && requireValue)
            throw new InvalidOperationException("The store holds no value yet. Store one with Write, TryWrite or ReadOrInitialize first.");
        return _root;
    }

    private async ValueTask<T> ReadOrInitializeCoreAsync<T>(Func<T> create, bool async, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(create);
        ThrowIfDisposed();
        Allow(typeof(T));
        await ReadCoreAsync(typeof(T), async, cancellationToken, requireValue: false).ConfigureAwait(false);
        if (Version is null)
        {
            // Whoever wins the race stores its value; everyone else reads that one.
            bool stored;
            try
            {
                stored = await WriteCoreAsync(create(), expectedVersion: null, conditional: true, async, cancellationToken).ConfigureAwait(false);
            }
            catch (CommitOutcomeUnknownException unknown)
            {
                // Ours or another racer's value is stored: either way the store is initialized, which is all this call promises.
                if (!await StoreHoldsAValueAsync(async, cancellationToken).ConfigureAwait(false))
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(unknown);
                stored = false;
            }
            if (!stored)
                await RefreshCoreAsync(typeof(T), async, cancellationToken).ConfigureAwait(false);
        }
        return Typed<T>(await ReadCoreAsync(typeof(T), async, cancellationToken).ConfigureAwait(false));
    }

    private async ValueTask<bool> StoreHoldsAValueAsync(bool async, CancellationToken cancellationToken)
    {
        try
        {
            return await _calls.ReadVersionAsync(async, cancellationToken).ConfigureAwait(false) is not null;
        }
        catch (BackendException)
        {
            return false; // cannot tell: the caller keeps the original error
        }
    }

    private async ValueTask<object?> RefreshCoreAsync(Type? declared, bool async, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (CurrentWork() is not null)
            throw new InvalidOperationException("Refresh cannot run inside a transaction: reads there are repeatable. Refresh before or after it.");
        if (declared is not null)
            Allow(declared);
        ChangedEventArgs? changed;
        using (await EnterExclusiveAsync(async, cancellationToken).ConfigureAwait(false))
        {
            var type = declared is not null && (!_loaded || !Fits(declared)) ? declared : _rootType;
            changed = Publish(await FetchAsync(type, async, cancellationToken).ConfigureAwait(false), type, reuse: true);
            EnsureWatching();
        }
        RaiseChanged(changed);
        return Checked(declared);
    }

    private async ValueTask<bool> WriteCoreAsync(object? value, long? expectedVersion, bool conditional, bool async, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (CurrentWork() is not null)
            throw new InvalidOperationException("Write and TryWrite replace the stored value directly and cannot run inside a transaction; change the live objects instead.");
        var declared = Codecs.LiveRootType(value?.GetType() ?? typeof(object));
        Allow(declared);
        using (await EnterExclusiveAsync(async, cancellationToken).ConfigureAwait(false))
        {
            ReadOnlyMemory<byte> data;
            _encoder.ChecksKeys = true;
            try
            {
                data = Protect(Encode(value, declared));
            }
            finally
            {
                _encoder.ChecksKeys = false;
            }
            // Decoded before the store is touched: a value this manager cannot read back is refused, never stored.
            var decoded = DecodeLive(data, declared, reuse: _loaded);
            var commitId = Guid.NewGuid();
            long? version = conditional
                ? await _calls.TryWriteAsync(data, expectedVersion, commitId, async, cancellationToken).ConfigureAwait(false)
                : await _calls.WriteAsync(data, commitId, async, cancellationToken).ConfigureAwait(false);
            if (version is null)
                return false;
            long? oldVersion;
            lock (Gate)
                oldVersion = _version;
            Apply(decoded, version.Value, declared, oldVersion);
            _encoder.ReleaseLargeBuffers();
            EnsureWatching();
            return true;
        }
    }

    private object? SnapshotCore(Type? declared)
    {
        ThrowIfDisposed();
        if (declared is not null)
            Allow(declared);
        Read();
        using (EnterExclusiveAsync(async: false, CancellationToken.None).GetAwaiter().GetResult())
        {
            var data = Encode(_root, _rootType);
            var snapshot = DeepValues.Run(_options.MaxDepth, () => Decode(data, declared ?? _rootType, new DecodeContext(_registry, owner: null, live: false)));
            _encoder.ReleaseLargeBuffers();
            return snapshot;
        }
    }

    /// <summary>Encodes a value with this manager's writer (callers hold the exclusive lock). The memory is valid until the next encode.</summary>
    private ReadOnlyMemory<byte> Encode(object? value, Type declared)
    {
        try
        {
            var encoded = DeepValues.Run(_options.MaxDepth, () => _encoder.Encode(Codecs.For(declared), value, _options.Compression));
            if (_encoder.ValueDepth == 0 && value is not null && Nodes.Of(value) is { } root && ReferenceEquals(root.Header.Owner, this))
            {
                // Encoding visited exactly the reachable nodes: IsLinked can use the marks.
                _linkedEpoch = _encoder.Epoch;
                _linkedStamp = Interlocked.Read(ref _structureStamp);
            }
            return encoded;
        }
        catch (InvalidCastException e)
        {
            throw new ArgumentException($"The value cannot be stored: {e.Message}", e);
        }
    }

    private ReadOnlyMemory<byte> Protect(ReadOnlyMemory<byte> encoded) => _options.Protection?.Protect(encoded) ?? encoded;

    private ReadOnlyMemory<byte> Unprotect(ReadOnlyMemory<byte> stored) => _options.Protection?.Unprotect(stored) ?? stored;

    private static object? Decode(ReadOnlyMemory<byte> data, Type declared, DecodeContext context)
    {
        var reader = new GraphReader(WireFormat.OpenValue(data), context);
        try
        {
            var value = Codecs.For(declared).ReadBoxed(ref reader);
            if (!reader.Msg.End)
                throw new ToscDataException($"The stored value has {reader.Msg.Remaining} bytes after its end (offset {reader.Msg.Position}).");
            return value;
        }
        catch (Exception e) when (e is not ToscDataException and not OutOfMemoryException and not OperationCanceledException)
        {
            throw new ToscDataException($"The stored value cannot be decoded as {TypeNames.Display(declared)}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Decodes <paramref name="state"/> and makes it the manager's state, reusing live nodes by id so the
    /// references the application holds see the new values. Nothing changes when decoding fails.
    /// Callers hold the exclusive lock.
    /// </summary>
    private ChangedEventArgs? Publish(StoredState? state, Type declared, bool reuse)
    {
        long? oldVersion;
        lock (Gate)
            oldVersion = _version;
        if (state is null)
        {
            lock (Gate)
            {
                DetachAll();
                (_root, _version, _rootType, _loaded) = (null, null, declared, true);
            }
            Interlocked.Increment(ref _structureStamp);
            return oldVersion is null ? null : new ChangedEventArgs(oldVersion, null);
        }
        if (_loaded && state.Version == oldVersion && declared == _rootType)
            return null;
        var changed = Apply(DecodeLive(state.Data, declared, reuse), state.SnapshotVersion, declared, oldVersion);
        CheckSnapshotProtection(state);
        if (state.Log.Count == 0)
            return changed is null ? null : WholeStateChanged(oldVersion, state.Version, state.CommitId);
        ApplyRecords(state.Log);
        lock (Gate)
            _applied = null; // the snapshot replaced everything: reported as one Replace at the root
        return oldVersion == state.Version ? null : WholeStateChanged(oldVersion, state.Version, state.CommitId);
    }

    /// <summary>Decodes a stored state into live nodes without publishing anything (callers hold the exclusive lock).</summary>
    private DecodedState DecodeLive(ReadOnlyMemory<byte> data, Type declared, bool reuse)
    {
        var existing = reuse ? CollectNodes() : null;
        // A fresh context per attempt: a value too deep for this thread is decoded again on a deep one.
        return DeepValues.Run(_options.MaxDepth, () =>
        {
            var context = new DecodeContext(_registry, this, live: true, existing);
            return new DecodedState(Decode(Unprotect(data), declared, context), context, existing);
        });
    }

    /// <summary>Makes a decoded state the manager's state, swapping new content into the live nodes it reuses.</summary>
    private ChangedEventArgs? Apply(DecodedState decoded, long version, Type declared, long? oldVersion)
    {
        var (root, context, existing) = decoded;
        lock (Gate)
        {
            foreach (var (node, content) in context.Pending)
                node.ReplaceContent(content);
            NotifyReplaced(context.Pending.Select(pending => pending.Item1));
            if (existing is not null)
            {
                foreach (var gone in existing.Values)
                    gone.Header.Unlink();
            }
            else
            {
                DetachAll();
            }
            (_root, _version, _rootType, _loaded) = (root, version, declared, true);
            SetLease(null); // a snapshot keeps no lease: whatever it held has been committed over or compacted away
        }
        Interlocked.Increment(ref _structureStamp);
        Diagnostics.ToscDiagnostics.Refreshes.Add(1);
        ForgetIndex();
        return oldVersion == version ? null : new ChangedEventArgs(oldVersion, version);
    }

    /// <summary>The live nodes reachable from the root, by id.</summary>
    private Dictionary<long, ILiveNode> CollectNodes()
    {
        var nodes = new Dictionary<long, ILiveNode>();
        var pending = new Stack<ILiveNode>();
        if (Nodes.Of(_root) is { } root && ReferenceEquals(root.Header.Owner, this))
            pending.Push(root);
        while (pending.TryPop(out var node))
        {
            if (ReferenceEquals(node.Header.Owner, this) && nodes.TryAdd(node.Header.Id, node))
                node.PushChildren(pending);
        }
        return nodes;
    }

    private void DetachAll()
    {
        foreach (var node in CollectNodes().Values)
            node.Header.Unlink();
    }

    private void MarkReachable()
    {
        _encoder.Begin();
        var epoch = _encoder.Epoch;
        var pending = new Stack<ILiveNode>();
        if (Nodes.Of(_root) is { } root && ReferenceEquals(root.Header.Owner, this))
            pending.Push(root);
        while (pending.TryPop(out var node))
        {
            if (node.Header.Mark == epoch || !ReferenceEquals(node.Header.Owner, this))
                continue;
            node.Header.Mark = epoch;
            node.PushChildren(pending);
        }
        _linkedEpoch = epoch;
        _linkedStamp = Interlocked.Read(ref _structureStamp);
    }

    /// <summary>Reports a stored state this manager cannot apply: event, error log, metric.</summary>
    private void ReportUnreadable(ToscDataException error)
    {
        ToscDiagnostics.RefreshFailures.Add(1);
        ToscLog.StoredStateUnreadable(_logger, error);
        try
        {
            RefreshFailed?.Invoke(this, new RefreshFailedEventArgs(error));
        }
        catch (Exception e)
        {
            ToscLog.ChangedHandlerFailed(_logger, e);
        }
    }

    private void RaiseChanged(ChangedEventArgs? changed)
    {
        DispatchNotifications();
        Raise(Changed, changed);
    }

    private sealed record DecodedState(object? Root, DecodeContext Context, Dictionary<long, ILiveNode>? Existing);

    /// <summary>The flow's slot for its transaction: set in the caller's execution context so async scopes see it.</summary>
    private sealed class FlowBox
    {
        public UnitOfWork? Work;
    }
}
