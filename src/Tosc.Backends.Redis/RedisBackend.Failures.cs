using System.Net.Sockets;
using StackExchange.Redis;

namespace Tosc;

// How failures of the client and the server become the exceptions Tosc callers act on.
public sealed partial class RedisBackend
{
    /// <summary>Whether a failed call may still have run on the server: its reply, not its request, may be what got lost.</summary>
    private bool MayHaveReachedTheServer(Exception e) => e switch
    {
        // Refused before sending: no connection was available at all.
        RedisConnectionException { FailureType: ConnectionFailureType.UnableToResolvePhysicalConnection or ConnectionFailureType.AuthenticationFailure } => false,
        RedisConnectionException or TimeoutException or SocketException or IOException => true,
        // The connection was replaced (see RedisBackend.Reconnect.cs) while the call ran.
        ObjectDisposedException => Volatile.Read(ref _disposed) == 0,
        _ => false,
    };

    /// <summary>Turns a failure of the client or the server into the exception callers act on; <see langword="null"/> keeps it as is.</summary>
    private Exception? Translate(Exception e, string action)
    {
        var where = $"Redis at {_endpoints ?? "(unknown)"}";
        var key = $"key '{_keyName}'";
        Unhealthy(e);
        if (Volatile.Read(ref _disposed) != 0)
            return e is ObjectDisposedException ? null : new ObjectDisposedException($"The RedisBackend of key '{_keyName}' was disposed while the call ran.", e);
        switch (e)
        {
            case ToscException or OperationCanceledException:
                return null;
            case RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure }:
                return AuthenticationFailure(where, e);
            case RedisServerException server:
                return TranslateServerError(server, where, key, action);
            case RedisConnectionException or SocketException or IOException or ObjectDisposedException:
                return new BackendException($"Could not {action} {key}: the connection to {where} failed ({e.Message}). The server may be down or restarting; the call may succeed once it is back.", isTransient: true, e);
            case TimeoutException:
                return new BackendException($"Could not {action} {key}: {where} did not answer within {_operationTimeout.TotalMilliseconds:0} ms. The server may be down, restarting or overloaded.", isTransient: true, e);
            case RedisException:
                return new BackendException($"Could not {action} {key} at {where}: {e.Message}", isTransient: false, e);
            default:
                return null;
        }
    }

    private Exception TranslateServerError(RedisServerException e, string where, string key, string action)
    {
        var message = e.Message;
        var foreign = message.IndexOf(RedisStoreScript.ForeignError + " ", StringComparison.Ordinal);
        if (foreign >= 0)
        {
            var detail = message[(foreign + RedisStoreScript.ForeignError.Length + 1)..].Trim();
            return Foreign(detail switch
            {
                "hash" => NoMarker,
                _ when detail.StartsWith("format ", StringComparison.Ordinal) => OtherLayout(detail["format ".Length..]),
                _ => NotAHash(detail),
            }, e);
        }
        if (message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
            return Foreign(NotAHash(null), e);
        if (StartsWithAny(message, "NOAUTH", "WRONGPASS", "NOPERM"))
            return AuthenticationFailure(where, e);
        if (StartsWithAny(message, "LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOSCRIPT"))
            return new BackendException($"Could not {action} {key}: {where} is not ready ({message}); the call may succeed shortly.", isTransient: true, e);
        return new BackendException($"Could not {action} {key}: {where} answered with an error: {message}", isTransient: false, e);
    }

    private static BackendException AuthenticationFailure(string where, Exception e) =>
        new($"{where} refused the credentials: check the password (and user) in the configuration string. Server said: {e.Message}", isTransient: false, e);

    private static bool StartsWithAny(string message, params string[] prefixes) =>
        prefixes.Any(p => message.StartsWith(p, StringComparison.Ordinal));

    private const string NoMarker = "a hash that is not a Tosc store (no 'tosc' marker field). Use another key or KeyPrefix, or delete the key if it is stale";

    private static string OtherLayout(string? marker) =>
        $"a Tosc store in a layout this version cannot read (marker '{marker}'); upgrade Tosc.Backends.Redis";

    private static string NotAHash(string? type) =>
        $"a value that is not a Tosc store{(type is null ? "" : $" (a {type})")}; Tosc keeps a hash there. Use another key or KeyPrefix, or delete the key if it is stale";

    private ToscDataException Foreign(string what, Exception? inner = null) =>
        new($"The Redis key '{_keyName}' at {_endpoints} holds {what}.", inner);
}
