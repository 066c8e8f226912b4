using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Tosc;

/// <summary>
/// Names and cleans up the temporary files a commit writes next to the store file:
/// <c>.{file name}.{host tag}.{pid}.{guid}.tmp</c>, so a leftover says who wrote it.
/// </summary>
internal sealed class TempFiles(string storePath)
{
    /// <summary>A temporary file older than this belongs to a writer that died or hung; nobody renames it any more.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    // The pid alone is ambiguous on a shared (NFS) directory: a tag of the host name says whose pid it is.
    private static readonly string HostTag = Crc32C.Compute(Encoding.UTF8.GetBytes(Environment.MachineName)).ToString("x8", CultureInfo.InvariantCulture);

    private readonly string _directory = Path.GetDirectoryName(storePath)!;
    private readonly string _prefix = "." + Path.GetFileName(storePath) + ".";

    public string NewName() => Path.Combine(_directory,
        string.Create(CultureInfo.InvariantCulture, $"{_prefix}{HostTag}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp"));

    /// <summary>
    /// Deletes leftovers of crashed writers: files older than <see cref="MaxAge"/>, and files of this host whose
    /// process is gone. Best effort: a file that cannot be deleted now is tried again next time.
    /// </summary>
    public int Clean()
    {
        var deleted = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(_directory, _prefix + "*.tmp");
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            return 0;
        }
        try
        {
            foreach (var file in candidates)
            {
                if (!IsStale(file))
                    continue;
                try
                {
                    File.Delete(file);
                    deleted++;
                }
                catch (Exception e) when (FileErrors.IsFileSystem(e))
                {
                    // Someone else cleaned it, or it is not ours to delete; try again next time.
                }
            }
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            // The directory changed while we listed it.
        }
        return deleted;
    }

    private bool IsStale(string file)
    {
        // .{name}.{host}.{pid}.{guid}.tmp: the name may contain dots, so parse after the known prefix.
        var parts = Path.GetFileName(file)[_prefix.Length..].Split('.');
        if (parts.Length != 4)
            return false;
        DateTime written;
        try
        {
            written = File.GetLastWriteTimeUtc(file);
        }
        catch (Exception e) when (FileErrors.IsFileSystem(e))
        {
            return false;
        }
        if (DateTime.UtcNow - written > MaxAge)
            return true;
        return parts[0] == HostTag
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && pid != Environment.ProcessId
            && !IsRunning(pid);
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
