using Tosc.Serialization;

namespace Tosc.Tests.Golden;

/// <summary>Encodes a graph the way a manager stores it, with node ids 1, 2, 3... so the bytes are reproducible.</summary>
internal static class GoldenCodec
{
    public static byte[] Encode(GoldenCase golden)
    {
        using var ids = NodeIds.Sequential();
        var writer = new GraphWriter(owner: null, registry: new TypeRegistry());
        writer.Begin();
        Codecs.For(golden.Root).WriteBoxed(writer, golden.Build());
        var encoded = writer.Msg.ToArray();
        return golden.Protected ? Protection().Protect(encoded).ToArray() : encoded;
    }

    public static StateProtection Protection() => StateProtection.Authenticate(GoldenCases.ProtectionKey);
}
