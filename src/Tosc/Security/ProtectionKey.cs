using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Tosc.Security;

/// <summary>One key and what is derived from it: its id, and separate subkeys for HMAC and AES-GCM.</summary>
internal sealed class ProtectionKey
{
    private ProtectionKey(ulong id, byte[] macKey, byte[] encryptionKey)
    {
        Id = id;
        MacKey = macKey;
        EncryptionKey = encryptionKey;
    }

    /// <summary>The first 8 bytes of SHA-256(key), big-endian: names the key in the envelope so the reader picks the right one.</summary>
    public ulong Id { get; }

    public byte[] MacKey { get; }

    public byte[] EncryptionKey { get; }

    public static ProtectionKey Create(ReadOnlySpan<byte> key, string what)
    {
        if (key.Length < StateProtection.MinKeyLength)
        {
            throw new ArgumentException(
                $"StateProtection needs keys of at least {StateProtection.MinKeyLength} random bytes, but {what} has {key.Length}. " +
                "Create one with StateProtection.GenerateKey() and keep it in your secret store.", what == "key" ? "key" : "previousKeys");
        }
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(key, hash);
        var id = BinaryPrimitives.ReadUInt64BigEndian(hash);
        // Distinct subkeys per algorithm (HKDF, RFC 5869), so one key never serves two purposes.
        var mac = new byte[32];
        var encryption = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key, mac, salt: default, info: "tosc/v1/hmac-sha256"u8);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key, encryption, salt: default, info: "tosc/v1/aes-256-gcm"u8);
        return new ProtectionKey(id, mac, encryption);
    }
}
