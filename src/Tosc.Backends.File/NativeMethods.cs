using System.Runtime.InteropServices;

namespace Tosc;

/// <summary>fsync of a directory, which .NET has no API for (it refuses to open a directory as a file).</summary>
internal static partial class NativeMethods
{
    private const int ReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC on Linux
    private const int Interrupted = 4; // EINTR
    private const int IOError = 5; // EIO
    private static volatile bool s_unavailable;

    /// <summary>
    /// Makes a rename in <paramref name="directory"/> durable. Only on Linux; where the file system does not
    /// allow it (EINVAL and friends) it is skipped, because the rename itself has already happened.
    /// </summary>
    public static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() || s_unavailable)
            return;
        int fd;
        try
        {
            do
                fd = Open(directory, ReadOnlyCloseOnExec);
            while (fd < 0 && Marshal.GetLastPInvokeError() == Interrupted);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return;
        }
        if (fd < 0)
            return;
        try
        {
            int result;
            do
                result = Fsync(fd);
            while (result < 0 && Marshal.GetLastPInvokeError() == Interrupted);
            if (result < 0 && Marshal.GetLastPInvokeError() == IOError)
                throw new BackendException($"fsync of the directory '{directory}' failed with an I/O error: the last commit is visible but may not survive a power loss.", isTransient: true);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Close(int fd);
}
