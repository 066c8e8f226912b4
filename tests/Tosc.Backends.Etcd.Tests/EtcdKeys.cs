using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Tosc.Testing;

namespace Tosc.Tests;

/// <summary>Looks at a store's etcd keys directly (docs/etcd-backend.md, "Keys").</summary>
internal static class EtcdKeys
{
    /// <summary>How many chunk keys the store <paramref name="key"/> has.</summary>
    public static long Chunks(EtcdServer server, string key)
    {
        using var client = new EtcdClient(server.Endpoint, configureChannelOptions: EtcdBackend.ConfigureChannel);
        var range = new RangeRequest { Key = ByteString.CopyFromUtf8(key + "\0chunk\0"), RangeEnd = ByteString.CopyFromUtf8(key + "\0chunk\u0001"), CountOnly = true };
        return client.Get(range).Count;
    }
}
