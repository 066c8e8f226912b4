using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace Tosc.Security;

/// <summary>
/// The protected form of a stored state (docs/security.md):
/// "TOSP", version (1), mode (1 HMAC-SHA256, 2 AES-256-GCM), key id (8 bytes, big-endian), then
/// for mode 1: the plain Tosc value and a 32-byte HMAC over everything before it;
/// for mode 2: a 12-byte nonce, the encrypted Tosc value and a 16-byte tag (the first 14 bytes are associated data).
/// </summary>
internal static class Envelope
{
    public const byte Version = 1;
    public const byte Authenticated = 1;
    public const byte Encrypted = 2;
    public const int HeaderLength = 14;
    public const int MacLength = 32;
    public const int NonceLength = 12;
    public const int TagLength = 16;

    private const string Tampered = "The store is not authenticated with an accepted key — was it changed by someone without the key?";

    public static ReadOnlySpan<byte> Magic => "TOSP"u8;

    public static byte[] Sign(ProtectionKey key, ReadOnlySpan<byte> plain)
    {
        var sealedBytes = new byte[HeaderLength + plain.Length + MacLength];
        WriteHeader(sealedBytes, Authenticated, key.Id);
        plain.CopyTo(sealedBytes.AsSpan(HeaderLength));
        HMACSHA256.HashData(key.MacKey, sealedBytes.AsSpan(0, HeaderLength + plain.Length), sealedBytes.AsSpan(HeaderLength + plain.Length));
        return sealedBytes;
    }

    public static byte[] Seal(ProtectionKey key, ReadOnlySpan<byte> plain)
    {
        var sealedBytes = new byte[HeaderLength + NonceLength + plain.Length + TagLength];
        var span = sealedBytes.AsSpan();
        WriteHeader(span, Encrypted, key.Id);
        var nonce = span.Slice(HeaderLength, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key.EncryptionKey, TagLength);
        aes.Encrypt(nonce, plain, span.Slice(HeaderLength + NonceLength, plain.Length), span[^TagLength..], span[..HeaderLength]);
        return sealedBytes;
    }

    public static ReadOnlyMemory<byte> Verify(ProtectionKey key, ReadOnlyMemory<byte> stored)
    {
        var data = stored.Span;
        if (data.Length < HeaderLength + MacLength)
            throw new ToscDataException($"The protected state is truncated ({data.Length} bytes, at least {HeaderLength + MacLength} expected). {Tampered}");
        Span<byte> expected = stackalloc byte[MacLength];
        HMACSHA256.HashData(key.MacKey, data[..^MacLength], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, data[^MacLength..]))
            throw new ToscDataException($"{Tampered} (its HMAC-SHA256 does not match key id {Id(key.Id)}.)");
        return stored[HeaderLength..^MacLength];
    }

    public static ReadOnlyMemory<byte> Open(ProtectionKey key, ReadOnlyMemory<byte> stored)
    {
        var data = stored.Span;
        if (data.Length < HeaderLength + NonceLength + TagLength)
            throw new ToscDataException($"The protected state is truncated ({data.Length} bytes, at least {HeaderLength + NonceLength + TagLength} expected). {Tampered}");
        var plain = new byte[data.Length - HeaderLength - NonceLength - TagLength];
        try
        {
            using var aes = new AesGcm(key.EncryptionKey, TagLength);
            aes.Decrypt(data.Slice(HeaderLength, NonceLength), data.Slice(HeaderLength + NonceLength, plain.Length), data[^TagLength..], plain, data[..HeaderLength]);
        }
        catch (CryptographicException e)
        {
            CryptographicOperations.ZeroMemory(plain);
            throw new ToscDataException($"{Tampered} (its AES-GCM tag does not match key id {Id(key.Id)}.)", e);
        }
        return plain;
    }

    /// <summary>Checks magic, version and mode; returns them with the key id. Throws <see cref="ToscDataException"/> for anything else.</summary>
    public static (byte Mode, ulong KeyId) ReadHeader(ReadOnlySpan<byte> data)
    {
        if (!data.StartsWith(Magic))
        {
            if (data.StartsWith("TOSC"u8))
            {
                throw new ToscDataException(
                    "The store holds an unprotected state, but this manager only accepts protected ones (ManagerOptions.Protection is set): " +
                    "the store is not authenticated with an accepted key — was it written by a manager without the key, or changed by someone without it? " +
                    "To protect an existing store, write its value once through a manager with the key.");
            }
            throw new ToscDataException($"The stored bytes are not a protected Tosc state (the \"TOSP\" header is missing). {Tampered}");
        }
        if (data.Length < HeaderLength)
            throw new ToscDataException($"The protected state is truncated ({data.Length} bytes, at least {HeaderLength} expected). {Tampered}");
        if (data[4] != Version)
        {
            throw new ToscDataException(data[4] > Version
                ? $"The store is protected with envelope version {data[4]}, newer than this Tosc supports ({Version}): upgrade Tosc to read it (or was the store changed by someone without the key?)."
                : $"The protected state declares envelope version {data[4]}, which does not exist. {Tampered}");
        }
        var mode = data[5];
        if (mode is not (Authenticated or Encrypted))
            throw new ToscDataException($"The protected state declares protection mode {mode}, which does not exist (1 is HMAC-SHA256, 2 is AES-256-GCM). {Tampered}");
        return (mode, BinaryPrimitives.ReadUInt64BigEndian(data[6..HeaderLength]));
    }

    public static string Id(ulong id) => id.ToString("x16", CultureInfo.InvariantCulture);

    private static void WriteHeader(Span<byte> destination, byte mode, ulong keyId)
    {
        Magic.CopyTo(destination);
        destination[4] = Version;
        destination[5] = mode;
        BinaryPrimitives.WriteUInt64BigEndian(destination[6..HeaderLength], keyId);
    }
}
