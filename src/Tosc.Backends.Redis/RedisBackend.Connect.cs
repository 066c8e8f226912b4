using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Tosc;

// Opening the connection when the backend owns it: fail at construction, and say what to fix.
public sealed partial class RedisBackend
{
    private static RedisBackendOptions Prepare(string key, RedisBackendOptions? options, out RedisBackendOptions validated)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        validated = (options ?? new RedisBackendOptions()).Validated();
        return validated;
    }

    private static ConnectionMultiplexer Connect(string configuration, RedisBackendOptions options, out ConfigurationOptions settings)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        try
        {
            settings = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException e)
        {
            var hint = e.Message.Contains("'user'", StringComparison.Ordinal)
                ? " ACL users (user=) need StackExchange.Redis 2.x; with 1.2 the password authenticates the 'default' user."
                : "";
            throw new ArgumentException($"The Redis configuration string is not valid: {e.Message}.{hint}", nameof(configuration), e);
        }
        if (settings.EndPoints.Count == 0)
            throw new ArgumentException("The Redis configuration string names no server; start it with host:port, for example \"127.0.0.1:6379\".", nameof(configuration));
        settings.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;
        settings.SyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        // Fail at construction with a clear error rather than hand out a backend that cannot reach its server.
        settings.AbortOnConnectFail = true;
        try
        {
            return ConnectionMultiplexer.Connect(settings);
        }
        catch (RedisConnectionException e)
        {
            var where = $"Redis at {Describe(settings.EndPoints)}";
            if (e.FailureType == ConnectionFailureType.AuthenticationFailure || e.Message.Contains("AuthenticationFailure", StringComparison.Ordinal))
                throw AuthenticationFailure(where, e);
            // The client does not always say why the handshake failed (a wrong password can surface as a socket
            // failure); a server that accepts TCP but not the handshake is refusing the credentials or the TLS setting.
            if (AcceptsConnections(settings.EndPoints, options.ConnectTimeout))
                throw new BackendException($"{where} accepts connections but the Redis handshake failed: check the password (and user) in the configuration string, and ssl= against the server's TLS setting. ({e.Message})", isTransient: false, e);
            throw new BackendException($"Could not connect to {where} (connect timeout {options.ConnectTimeout.TotalMilliseconds:0} ms): check that the server is running and that host and port in the configuration string are right. ({e.Message})", isTransient: true, e);
        }
    }

    private static bool AcceptsConnections(IEnumerable<EndPoint> endpoints, TimeSpan timeout)
    {
        foreach (var endpoint in endpoints)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                // Nothing here awaits on a captured context, so blocking on it cannot deadlock.
                socket.ConnectAsync(endpoint, deadline.Token).AsTask().GetAwaiter().GetResult();
                return true;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // Not this one.
            }
        }
        return false;
    }

    private static string Describe(IEnumerable<EndPoint> endpoints) =>
        string.Join(", ", endpoints.Select(e => e switch
        {
            DnsEndPoint dns => string.Create(CultureInfo.InvariantCulture, $"{dns.Host}:{dns.Port}"),
            IPEndPoint ip => ip.ToString(),
            _ => e.ToString() ?? "?",
        }));
}
