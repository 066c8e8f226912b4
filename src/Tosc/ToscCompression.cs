namespace Tosc;

/// <summary>How a manager compresses the states it stores (see <see cref="ManagerOptions.Compression"/>).</summary>
public enum ToscCompression
{
    /// <summary>States are stored as plain MessagePack (format version 1), readable by every Tosc version.</summary>
    None,

    /// <summary>
    /// States larger than 1 KiB are stored as an LZ4 block (format version 2) when that is smaller. Every manager reads
    /// them, with or without this option; a Tosc older than this option refuses them with a clear message.
    /// </summary>
    Lz4,
}
