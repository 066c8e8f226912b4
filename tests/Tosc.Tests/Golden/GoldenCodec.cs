using Tosc.Serialization;

namespace Tosc.Tests.Golden;

/// <summary>Encodes a graph the way a manager stores it, with node ids 1, 2, 3... so the bytes are reproducible.</summary>
internal static class GoldenCodec
{
    public static byte[] Encode(GoldenCase golden)
    {
        using var ids = NodeIds.Sequential();
        var encoded = new EncodeContext(owner: null, new TypeRegistry()).Encode(Codecs.For(golden.Root), golden.Build()).ToArray();
        return golden.Protected ? Protection().Protect(encoded).ToArray() : encoded;
    }

    public static StateProtection Protection() => StateProtection.Authenticate(GoldenCases.ProtectionKey);
}
