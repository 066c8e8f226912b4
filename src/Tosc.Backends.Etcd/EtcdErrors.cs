using System.Net.Sockets;
using Grpc.Core;

namespace Tosc;

/// <summary>Turns failures of gRPC and etcd into the exceptions callers act on (docs/etcd-backend.md, "Failures").</summary>
internal static class EtcdErrors
{
    /// <summary>
    /// The exception to throw for <paramref name="e"/>; <see langword="null"/> keeps it as it is. Transient: the cluster
    /// is unreachable, has no leader, changed leaders, timed out, is busy, or compacted the revision a read asked for.
    /// </summary>
    public static Exception? Translate(Exception e, string what, string where, int maxRequestBytes, bool disposed, CancellationToken cancellationToken)
    {
        if (disposed)
            return e is ObjectDisposedException ? null : new ObjectDisposedException($"The EtcdBackend was disposed while the call ran ({what}).", e);
        switch (e)
        {
            case ToscException:
                return null;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return null;
            case RpcException { StatusCode: StatusCode.Cancelled } when cancellationToken.IsCancellationRequested:
                return new OperationCanceledException(e.Message, e, cancellationToken);
            case RpcException rpc:
                return FromStatus(rpc, what, where, maxRequestBytes);
            case HttpRequestException or IOException or SocketException or OperationCanceledException:
                return new BackendException($"{what}: the connection to {where} failed ({e.Message}). The cluster may be down or restarting.", isTransient: true, e);
            default:
                return null;
        }
    }

    /// <summary>Whether <paramref name="e"/> says the revision a read asked for was compacted away.</summary>
    public static bool IsCompacted(BackendException e) => e.InnerException is RpcException { StatusCode: StatusCode.OutOfRange };

    private static BackendException FromStatus(RpcException e, string what, string where, int maxRequestBytes)
    {
        var detail = $"{e.StatusCode}: {e.Status.Detail}";
        switch (e.StatusCode)
        {
            case StatusCode.Unavailable when e.Status.DebugException is HttpRequestException or SocketException or IOException:
                return new BackendException($"{what}: could not reach {where} ({detail}). Check the endpoints (host and port of each member's client URL) and that etcd is running there.", isTransient: true, e);
            case StatusCode.Unavailable or StatusCode.Aborted or StatusCode.Unknown or StatusCode.Internal or StatusCode.Cancelled:
                // etcd: no leader, leader changed, request timed out (the proposal may still be applied: the core settles it).
                return new BackendException($"{what}: {where} is not available ({detail}); the call may succeed once the cluster has a leader again.", isTransient: true, e);
            case StatusCode.DeadlineExceeded:
                return new BackendException($"{what}: {where} did not answer within EtcdBackendOptions.OperationTimeout ({detail}). The cluster may be down, electing a leader or overloaded.", isTransient: true, e);
            case StatusCode.OutOfRange:
                return new BackendException($"{what}: {where} compacted the revision the read started at ({detail}); reading again starts at the newest.", isTransient: true, e);
            case StatusCode.ResourceExhausted when e.Status.Detail.Contains("space", StringComparison.OrdinalIgnoreCase):
                return new BackendException($"{what}: {where} is out of space ({detail}). Compact and defragment etcd (or raise --quota-backend-bytes), then disarm the NOSPACE alarm; turn on --auto-compaction-retention so it does not fill again.", isTransient: false, e);
            case StatusCode.InvalidArgument when e.Status.Detail.Contains("too large", StringComparison.OrdinalIgnoreCase):
            case StatusCode.ResourceExhausted when e.Status.Detail.Contains("larger than max", StringComparison.OrdinalIgnoreCase):
                return new BackendException($"{what}: {where} refused a request as too large ({detail}). Set EtcdBackendOptions.MaxRequestBytes ({maxRequestBytes}) to the server's --max-request-bytes.", isTransient: false, e);
            case StatusCode.ResourceExhausted when e.Status.Detail.Contains("maximum configured message size", StringComparison.OrdinalIgnoreCase):
                return new BackendException($"{what}: a reply from {where} was larger than the client accepts ({detail}). Build the EtcdClient with configureChannelOptions: EtcdBackend.ConfigureChannel (no reply limit).", isTransient: false, e);
            case StatusCode.ResourceExhausted:
                return new BackendException($"{what}: {where} is too busy ({detail}).", isTransient: true, e);
            case StatusCode.Unauthenticated or StatusCode.PermissionDenied:
                return new BackendException($"{what}: {where} refused the credentials ({detail}). Check the user and password of the EtcdClient, and that its role may read and write the store's key range (docs/etcd-backend.md).", isTransient: false, e);
            default:
                return new BackendException($"{what}: {where} answered with an error ({detail}).", isTransient: false, e);
        }
    }
}
