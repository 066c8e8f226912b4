using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Tosc;

/// <summary>
/// The watch side of an <see cref="EtcdBackend"/>: one etcd watch on the head key, signalling <see cref="ChangeSignal"/>
/// for every commit. It remembers the revision after the last event, so when the stream breaks (a member died, the
/// leader changed, the connection dropped) it watches again from there and misses nothing; every reconnect signals
/// once as well, and the backend's poll covers whatever else.
/// </summary>
/// <remarks>It holds the signal and the client, not the backend, so a forgotten backend is not kept alive by this loop.</remarks>
internal sealed class EtcdWatcher : IDisposable
{
    // etcd ends a watch whose member lost its leader only when asked to: otherwise a partitioned member's watch stays
    // open and silent.
    private static readonly Metadata RequireLeader = new() { { "hasleader", "true" } };

    private readonly EtcdClient _client;
    private readonly ByteString _key;
    private readonly ChangeSignal _changes;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private long _next; // the revision the next watch starts at: one after the newest event seen

    public EtcdWatcher(EtcdClient client, ByteString key, ChangeSignal changes)
    {
        _client = client;
        _key = key;
        _changes = changes;
    }

    /// <summary>Watches from <paramref name="revision"/> on, in the background.</summary>
    public void Start(long revision)
    {
        _next = revision;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Stops watching.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        // Bounded: the loop only waits on the stream and delays with the stop token, so it ends promptly.
        _loop.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var retry = new ReconnectDelay();
        var reconnecting = false;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var call = _client.GetConnection().WatchClient.Watch(RequireLeader, cancellationToken: _stop.Token);
                var create = new WatchCreateRequest { Key = _key, StartRevision = Interlocked.Read(ref _next) };
                await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = create }, _stop.Token).ConfigureAwait(false);
                while (await call.ResponseStream.MoveNext(_stop.Token).ConfigureAwait(false))
                {
                    var response = call.ResponseStream.Current;
                    if (response.Created)
                    {
                        retry.Reset();
                        if (reconnecting)
                            _changes.Notify(); // commits may have landed while no watch was open
                        reconnecting = false;
                    }
                    if (response.CompactRevision > 0)
                    {
                        // etcd compacted past the revision asked for: those events are gone; go on from the oldest
                        // revision kept, and let the waiters read the version.
                        Interlocked.Exchange(ref _next, response.CompactRevision);
                        _changes.Notify();
                        break;
                    }
                    if (response.Canceled)
                        break;
                    if (response.Events.Count > 0)
                    {
                        Interlocked.Exchange(ref _next, response.Events[^1].Kv.ModRevision + 1);
                        _changes.Notify();
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (RpcException) when (_stop.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // A background loop: any failure means "watch again"; the poll covers the gap.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
            reconnecting = true;
            _changes.Notify();
            if (!await retry.WaitAsync(_stop.Token).ConfigureAwait(false))
                break;
        }
    }
}
