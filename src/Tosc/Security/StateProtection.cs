using System.Security.Cryptography;
using Tosc.Security;

namespace Tosc;

/// <summary>
/// Protects the stored state: authenticates it (HMAC-SHA256) and optionally encrypts it (AES-256-GCM), so a store
/// changed by anyone without the key is rejected and never applied. Set it in <see cref="ManagerOptions.Protection"/>.
/// </summary>
/// <remarks>
/// Every manager of one store needs the same protection. Keys are at least 32 random bytes
/// (<see cref="GenerateKey"/>); keep them out of the store. To rotate, give the new key first and the old ones
/// after it: states protected with any of them are read, every write uses the first. See docs/security.md.
/// </remarks>
public sealed class StateProtection
{
    /// <summary>The shortest key accepted, in bytes.</summary>
    public const int MinKeyLength = 32;

    private readonly ProtectionKey[] _keys;
    private readonly bool _encrypt;

    private StateProtection(bool encrypt, ReadOnlySpan<byte> key, ReadOnlySpan<byte[]> previousKeys)
    {
        _encrypt = encrypt;
        _keys = new ProtectionKey[1 + previousKeys.Length];
        _keys[0] = ProtectionKey.Create(key, "key");
        for (var i = 0; i < previousKeys.Length; i++)
        {
            var previous = previousKeys[i] ?? throw new ArgumentNullException(nameof(previousKeys), $"Previous key #{i} is null.");
            _keys[i + 1] = ProtectionKey.Create(previous, $"previous key #{i}");
        }
        for (var i = 1; i < _keys.Length; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (_keys[i].Id == _keys[j].Id)
                    throw new ArgumentException($"The same key is given twice ({Name(j)} and {Name(i)}); give each key once.", nameof(previousKeys));
            }
        }
    }

    /// <summary>Whether stored states are encrypted (AES-256-GCM) rather than only authenticated (HMAC-SHA256).</summary>
    public bool Encrypts => _encrypt;

    /// <summary>The id of the key writes use: 16 hex digits, stored in every protected state (it does not reveal the key).</summary>
    public string KeyId => Envelope.Id(_keys[0].Id);

    /// <summary>
    /// Authenticates the stored state with HMAC-SHA256: it stays readable by anyone who can read the store, but a
    /// state changed or written without the key is rejected with <see cref="ToscDataException"/>.
    /// </summary>
    /// <param name="key">The key writes use; at least <see cref="MinKeyLength"/> bytes, best from <see cref="GenerateKey"/>.</param>
    /// <param name="previousKeys">Keys that are still accepted for reading while a rotation is under way.</param>
    /// <exception cref="ArgumentException">A key is shorter than <see cref="MinKeyLength"/> bytes, or given twice.</exception>
    public static StateProtection Authenticate(ReadOnlySpan<byte> key, params ReadOnlySpan<byte[]> previousKeys) =>
        new(encrypt: false, key, previousKeys);

    /// <summary>
    /// Encrypts and authenticates the stored state with AES-256-GCM (a random 96-bit nonce per write): the store
    /// reveals only the state's size, and a state changed or written without the key is rejected with
    /// <see cref="ToscDataException"/>.
    /// </summary>
    /// <param name="key">The key writes use; at least <see cref="MinKeyLength"/> bytes, best from <see cref="GenerateKey"/>.</param>
    /// <param name="previousKeys">Keys that are still accepted for reading while a rotation is under way.</param>
    /// <exception cref="ArgumentException">A key is shorter than <see cref="MinKeyLength"/> bytes, or given twice.</exception>
    public static StateProtection Encrypt(ReadOnlySpan<byte> key, params ReadOnlySpan<byte[]> previousKeys) =>
        new(encrypt: true, key, previousKeys);

    /// <summary>A new random key of <see cref="MinKeyLength"/> bytes from the operating system's secure generator.</summary>
    public static byte[] GenerateKey() => RandomNumberGenerator.GetBytes(MinKeyLength);

    /// <summary>Wraps the encoded state before it is stored.</summary>
    internal ReadOnlyMemory<byte> Protect(ReadOnlyMemory<byte> encoded) =>
        _encrypt ? Envelope.Seal(_keys[0], encoded.Span) : Envelope.Sign(_keys[0], encoded.Span);

    /// <summary>Checks and unwraps stored bytes; throws <see cref="ToscDataException"/> when they were not protected with an accepted key.</summary>
    internal ReadOnlyMemory<byte> Unprotect(ReadOnlyMemory<byte> stored)
    {
        var header = Envelope.ReadHeader(stored.Span);
        var key = Find(header.KeyId) ?? throw new ToscDataException(
            $"The store is not authenticated with an accepted key: it names key id {Envelope.Id(header.KeyId)}, and this manager accepts " +
            $"{string.Join(", ", _keys.Select(k => Envelope.Id(k.Id)))}. Give that key to StateProtection (as a previous key while rotating) — " +
            "or was the store changed by someone without the key?");
        return header.Mode == Envelope.Encrypted
            ? Envelope.Open(key, stored)
            : Envelope.Verify(key, stored);
    }

    /// <summary>Whether <paramref name="stored"/> is protected the way this instance protects now: its current key and mode.</summary>
    internal bool IsCurrent(ReadOnlySpan<byte> stored)
    {
        if (!LooksProtected(stored))
            return false;
        var header = Envelope.ReadHeader(stored);
        return header.KeyId == _keys[0].Id && (header.Mode == Envelope.Encrypted) == _encrypt;
    }

    /// <summary>Whether <paramref name="data"/> starts like a protected state (for messages of managers without protection).</summary>
    internal static bool LooksProtected(ReadOnlySpan<byte> data) => data.StartsWith(Envelope.Magic);

    private ProtectionKey? Find(ulong id)
    {
        foreach (var key in _keys)
        {
            if (key.Id == id)
                return key;
        }
        return null;
    }

    private static string Name(int index) => index == 0 ? "the key" : $"previous key #{index - 1}";
}
