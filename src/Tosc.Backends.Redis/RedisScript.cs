namespace Tosc;

/// <summary>A Lua script and the SHA1 Redis caches it under (EVALSHA, with EVAL once after NOSCRIPT).</summary>
internal sealed class RedisScript
{
    public RedisScript(string text)
    {
        Text = text;
#pragma warning disable CA5350 // Redis names scripts by SHA1; this is an identifier, not security.
        Sha1 = System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
    }

    /// <summary>The Lua source.</summary>
    public string Text { get; }

    /// <summary>The SHA1 of <see cref="Text"/>: the name Redis caches the script under.</summary>
    public byte[] Sha1 { get; }
}
