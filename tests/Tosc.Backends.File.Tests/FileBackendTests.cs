using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Files;

/// <summary>What is particular to the file backend: bad paths and files, locking, temporary files, watching.</summary>
public sealed class FileBackendTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public void Constructor_WhenTheDirectoryIsMissing_ThrowsNamingIt()
    {
        var missing = Path.Combine(_directory.Path, "no-such-dir");

        var error = Assert.Throws<BackendException>(() => new FileBackend(Path.Combine(missing, "state.tosc")));

        Assert.Contains($"'{missing}' does not exist", error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public void Constructor_WhenTheParentIsAFile_ThrowsNamingIt()
    {
        var file = _directory.File("plain-file");
        File.WriteAllText(file, "not a directory");

        var error = Assert.Throws<BackendException>(() => new FileBackend(Path.Combine(file, "state.tosc")));

        Assert.Contains($"'{file}' is a file, not a directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_WhenThePathIsADirectory_ThrowsArgumentException()
    {
        var error = Assert.Throws<ArgumentException>(() => new FileBackend(_directory.Path));

        Assert.Contains($"'{_directory.Path}' is a directory", error.Message, StringComparison.Ordinal);
        Assert.Equal("path", error.ParamName);
    }

    [Fact]
    public void Constructor_WhenTheLockDirectoryIsMissing_ThrowsNamingIt()
    {
        var missing = Path.Combine(_directory.Path, "no-lock-dir");

        var error = Assert.Throws<BackendException>(() => new FileBackend(_directory.File("s.tosc"), Path.Combine(missing, "s.lock")));

        Assert.Contains($"'{missing}' does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_WhenTheFileIsNotAToscStore_ThrowsToscDataExceptionNamingIt()
    {
        var path = _directory.File("appsettings.json");
        File.WriteAllText(path, "{ \"Logging\": { \"LogLevel\": { \"Default\": \"Information\" } } }");

        var error = Assert.Throws<ToscDataException>(() => new FileBackend(path));

        Assert.Contains($"'{path}' is not a valid Tosc store file", error.Message, StringComparison.Ordinal);
        Assert.Contains("TOSCFILE", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PollInterval", 0)]
    [InlineData("PollInterval", -5)]
    [InlineData("LockTimeout", 0)]
    [InlineData("LockTimeout", -1)]
    public void Constructor_WhenAnOptionIsOutOfRange_ThrowsNamingTheOption(string option, int milliseconds)
    {
        var options = new FileBackendOptions();
        var value = TimeSpan.FromMilliseconds(milliseconds);
        if (option == "PollInterval")
            options.PollInterval = value;
        else
            options.LockTimeout = value;

        var error = Assert.Throws<ArgumentException>(() => new FileBackend(_directory.File("s.tosc"), options: options));

        Assert.Contains($"FileBackendOptions.{option}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_HaveTheDocumentedDefaults()
    {
        var options = new FileBackendOptions();

        Assert.True(options.Fsync);
        Assert.True(options.UseFileSystemWatcher);
        Assert.Equal(TimeSpan.FromSeconds(2), options.PollInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), options.LockTimeout);
    }

    [Fact]
    public void LockPath_ByDefault_IsThePathPlusLock_AndAGivenOneIsUsed()
    {
        var path = _directory.File("s.tosc");
        var custom = _directory.File("custom.lock");
        using var byDefault = new FileBackend(path);
        using var withCustom = new FileBackend(_directory.File("t.tosc"), custom);

        byDefault.Write("a"u8.ToArray(), Guid.NewGuid());
        withCustom.Write("b"u8.ToArray(), Guid.NewGuid());

        Assert.Equal(path + ".lock", byDefault.LockPath);
        Assert.True(File.Exists(path + ".lock"));
        Assert.Equal(custom, withCustom.LockPath);
        Assert.True(File.Exists(custom));
    }

    [Fact]
    public void Commits_WhenTheFileIsNotAToscStore_ThrowAndLeaveItUntouched()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var foreign = Encoding.UTF8.GetBytes("theme = dark\nfont = 12\n" + new string('#', 60));
        File.WriteAllBytes(path, foreign);

        AssertRefused(backend, path, foreign, "does not start with the Tosc store magic");
    }

    [Fact]
    public void Commits_WhenAPayloadByteIsDamaged_ThrowChecksumMismatchAndLeaveTheFileUntouched()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var version = backend.Write("some settings"u8.ToArray(), Guid.NewGuid());
        var damaged = File.ReadAllBytes(path);
        damaged[^3] ^= 0x40;
        File.WriteAllBytes(path, damaged);

        AssertRefused(backend, path, damaged, "checksum does not match", version);
    }

    [Fact]
    public void Commits_WhenTheVersionInTheHeaderIsDamaged_ThrowChecksumMismatch()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        backend.Write("x"u8.ToArray(), Guid.NewGuid());
        var damaged = File.ReadAllBytes(path);
        damaged[17] ^= 0x01;
        File.WriteAllBytes(path, damaged);

        AssertRefused(backend, path, damaged, "checksum does not match", BinaryPrimitives.ReadInt64LittleEndian(damaged.AsSpan(16)));
    }

    [Fact]
    public void Commits_WhenTheFileIsTruncated_ThrowAndLeaveItUntouched()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var version = backend.Write(new byte[100], Guid.NewGuid());
        var truncated = File.ReadAllBytes(path)[..^10];
        File.WriteAllBytes(path, truncated);

        AssertRefused(backend, path, truncated, "announces 100 payload bytes but the file holds 90", version);
    }

    [Fact]
    public void Read_WhenTheFileIsFromANewerFormat_ThrowsSayingToUpgrade()
    {
        var path = _directory.File("s.tosc");
        using (var writer = new FileBackend(path))
            writer.Write("x"u8.ToArray(), Guid.NewGuid());
        var newer = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(8), 3);
        File.WriteAllBytes(path, newer);

        var atOpen = Assert.Throws<ToscDataException>(() => new FileBackend(path));

        Assert.Contains($"'{path}' has format version 3, written by a newer Tosc; this one reads format version 2", atOpen.Message, StringComparison.Ordinal);
        Assert.Contains("Upgrade Tosc", atOpen.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Commits_WhenTheFileBecameANewerFormat_ThrowAndLeaveItUntouched()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var version = backend.Write("x"u8.ToArray(), Guid.NewGuid());
        var newer = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(8), 7);
        File.WriteAllBytes(path, newer);

        AssertRefused(backend, path, newer, "format version 7, written by a newer Tosc", version);
    }

    [Fact]
    public void Read_WhenTheFileIsEmpty_SeesAnEmptyStore()
    {
        var path = _directory.File("touched.tosc");
        File.WriteAllBytes(path, []);
        using var backend = new FileBackend(path);

        Assert.Null(backend.Read());
        Assert.Equal(1, backend.TryWrite("first"u8.ToArray(), null, Guid.NewGuid()));
        Assert.Equal("first", Encoding.UTF8.GetString(backend.Read()!.Data.Span));
    }

    [Fact]
    public void Read_WhenThePathBecameADirectory_ThrowsBackendExceptionNamingIt()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        Directory.CreateDirectory(path);

        var read = Assert.Throws<BackendException>(() => backend.Read());
        var write = Assert.Throws<BackendException>(() => backend.Write("x"u8.ToArray(), Guid.NewGuid()));

        Assert.Contains($"Access denied reading '{path}'", read.Message, StringComparison.Ordinal);
        Assert.Contains($"'{path}'", write.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(path));
    }

    [Fact]
    public void Commit_WhenTheLockPathIsADirectory_ThrowsBackendExceptionNamingIt()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        Directory.CreateDirectory(path + ".lock");

        var error = Assert.Throws<BackendException>(() => backend.TryWrite("x"u8.ToArray(), null, Guid.NewGuid()));

        Assert.Contains($"opening the lock file '{path}.lock'", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void ReadAndCommit_WithoutPermission_ThrowBackendExceptionNamingThePath()
    {
        // Root ignores file permissions: as root the child process runs as the user 'nobody' (setpriv).
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("This test drops privileges with setpriv; it runs on Linux.");
        var directory = _directory.File("private");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "s.tosc");
        using (var backend = new FileBackend(path))
            backend.Write("secret"u8.ToArray(), Guid.NewGuid());
        var before = File.ReadAllBytes(path);
        var bin = _directory.File("bin");
        const UnixFileMode readable = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode enterable = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        List<string> unreadable, readOnly;
        try
        {
            File.SetUnixFileMode(directory, readable | enterable);
            File.SetUnixFileMode(path, UnixFileMode.None);
            unreadable = RunUnprivileged(bin, "try-access", path);
            File.SetUnixFileMode(path, readable);
            readOnly = RunUnprivileged(bin, "try-access", path);
        }
        finally
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Assert.Contains(unreadable, line => line.StartsWith($"open BackendException: Access denied reading '{path}'", StringComparison.Ordinal));
        Assert.Contains("read ok", readOnly);
        Assert.Contains(readOnly, line => line.StartsWith($"write BackendException: Access denied opening the lock file '{path}.lock'", StringComparison.Ordinal));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Commit_WhileAnotherInstanceInThisProcessHoldsTheLock_TimesOutNamingTheLockFile()
    {
        var path = _directory.File("s.tosc");
        using var holder = new FileBackend(path);
        using var waiter = new FileBackend(path, options: new FileBackendOptions { LockTimeout = TimeSpan.FromMilliseconds(200) });
        var lockFile = new LockFile(holder.LockPath, TimeSpan.FromSeconds(5));

        using (await lockFile.AcquireAsync(async: true, CancellationToken.None))
        {
            var error = Assert.Throws<BackendException>(() => waiter.Write("x"u8.ToArray(), Guid.NewGuid()));
            Assert.Contains($"waiting for the lock file '{holder.LockPath}'", error.Message, StringComparison.Ordinal);
            Assert.Contains("FileBackendOptions.LockTimeout", error.Message, StringComparison.Ordinal);
            Assert.True(error.IsTransient);
        }

        Assert.Equal(1, waiter.Write("x"u8.ToArray(), Guid.NewGuid()));
    }

    [Fact]
    public async Task Commit_WhileWaitingForTheLock_IsCancelled()
    {
        var path = _directory.File("s.tosc");
        using var backend = new FileBackend(path);
        var lockFile = new LockFile(backend.LockPath, TimeSpan.FromSeconds(5));
        using var cancellation = new CancellationTokenSource();

        using (await lockFile.AcquireAsync(async: true, CancellationToken.None))
        {
            var commit = backend.WriteAsync("x"u8.ToArray(), Guid.NewGuid(), cancellation.Token).AsTask();
            await cancellation.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Eventually.Within(commit, "a cancelled commit to end"));
        }

        Assert.Null(backend.Read());
    }

    [Fact]
    public void Constructor_DeletesTemporaryFilesOfDeadWritersAndOldOnes_AndKeepsLiveOnes()
    {
        var path = _directory.File("s.tosc");
        using (var backend = new FileBackend(path))
            backend.Write("x"u8.ToArray(), Guid.NewGuid());
        var host = Path.GetFileName(new TempFiles(path).NewName()).Split('.')[3];
        var deadPid = ExitedProcessId();
        var dead = _directory.File($".s.tosc.{host}.{deadPid}.{Guid.NewGuid():N}.tmp");
        var old = _directory.File($".s.tosc.{host}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var live = _directory.File($".s.tosc.{host}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var otherHostFresh = _directory.File($".s.tosc.0badc0de.{deadPid}.{Guid.NewGuid():N}.tmp");
        var unrelated = _directory.File(".other.tosc.x.1.y.tmp");
        foreach (var file in new[] { dead, old, live, otherHostFresh, unrelated })
            File.WriteAllText(file, "partial");
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow - TimeSpan.FromMinutes(5));

        using (new FileBackend(path))
        {
            Assert.False(File.Exists(dead), "a dead writer's temporary file was kept");
            Assert.False(File.Exists(old), "a temporary file older than a minute was kept");
            Assert.True(File.Exists(live), "a live writer's fresh temporary file was deleted");
            Assert.True(File.Exists(otherHostFresh), "a fresh temporary file of another host was deleted");
            Assert.True(File.Exists(unrelated), "another store's file was deleted");
        }
    }

    [Fact]
    public async Task Reads_WhileAnotherClientCommitsLargeValues_NeverSeeATornFile()
    {
        var path = _directory.File("s.tosc");
        using var writer = new FileBackend(path, options: new FileBackendOptions { Fsync = false });
        using var reader = new FileBackend(path);
        writer.Write(Fill(0), Guid.NewGuid());
        using var stop = new CancellationTokenSource();
        var commits = 0;

        var writing = Task.Run(() =>
        {
            for (var i = 1; !stop.IsCancellationRequested; i++)
            {
                writer.Write(Fill((byte)i), Guid.NewGuid());
                Interlocked.Increment(ref commits);
            }
        });
        var reads = 0;
        try
        {
            await Eventually.TrueAsync(() =>
            {
                var data = reader.Read()!.Data.Span;
                Assert.Equal(256 * 1024, data.Length);
                Assert.True(data.IndexOfAnyExcept(data[0]) < 0, "a read mixed two commits");
                reads++;
                return reads >= 200 && Volatile.Read(ref commits) >= 20;
            }, "200 reads during 20 commits");
        }
        finally
        {
            await stop.CancelAsync();
            await writing;
        }

        static byte[] Fill(byte value) => Enumerable.Repeat(value, 256 * 1024).ToArray();
    }

    [Fact]
    public async Task WaitForChange_WithoutTheWatcher_NoticesACommitByPolling()
    {
        var path = _directory.File("s.tosc");
        using var waiter = new FileBackend(path, options: new FileBackendOptions { UseFileSystemWatcher = false, PollInterval = TimeSpan.FromMilliseconds(50) });
        using var writer = new FileBackend(path);
        var known = writer.Write("a"u8.ToArray(), Guid.NewGuid());

        var waiting = waiter.WaitForChangeAsync(known, TimeSpan.FromMinutes(1)).AsTask();
        var written = writer.Write("b"u8.ToArray(), Guid.NewGuid());

        Assert.Equal(written, await Eventually.Within(waiting, "the poll to notice the commit", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task WaitForChange_WhenTheFileIsReplacedByAnotherTool_WakesOnTheFileSystemEvent()
    {
        var path = _directory.File("s.tosc");
        using var waiter = new FileBackend(path, options: new FileBackendOptions { PollInterval = TimeSpan.FromMinutes(10) });
        using var writer = new FileBackend(_directory.File("elsewhere.tosc"));
        var known = waiter.Write("a"u8.ToArray(), Guid.NewGuid());
        writer.Write("b"u8.ToArray(), Guid.NewGuid());
        var newer = writer.Write("c"u8.ToArray(), Guid.NewGuid()); // version 2, newer than known

        var waiting = waiter.WaitForChangeAsync(known, TimeSpan.FromMinutes(5)).AsTask();
        // Like a deployment tool copying a store file into place: only the watcher can notice it this soon.
        File.Copy(writer.FilePath, path + ".incoming");
        File.Move(path + ".incoming", path, overwrite: true);

        Assert.Equal(newer, await Eventually.Within(waiting, "the watcher to report the replaced file", TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task ManyBackendsInOneDirectory_ShareOneInotifyInstance()
    {
        Assert.True(OperatingSystem.IsLinux(), "counts inotify descriptors in /proc; runs on Linux");
        var before = InotifyInstances();
        var backends = Enumerable.Range(0, 150).Select(i => new FileBackend(_directory.File($"s{i}.tosc"))).ToList();
        try
        {
            var waits = backends.Select(b => b.WaitForChangeAsync(null, TimeSpan.FromMinutes(1)).AsTask()).ToList();
            var last = backends[^1];
            using (var writer = new FileBackend(last.FilePath))
                writer.Write("x"u8.ToArray(), Guid.NewGuid());

            Assert.Equal(1, await Eventually.Within(waits[^1], "the watcher to report the commit", TimeSpan.FromSeconds(10)));
            // Without sharing, 150 watchers would take 150 instances (or hit the default limit of 128);
            // the margin is for test classes running in parallel, each with a watcher of its own.
            Assert.True(InotifyInstances() - before < 10, $"{InotifyInstances() - before} new inotify instances for one directory");
        }
        finally
        {
            foreach (var backend in backends)
                backend.Dispose();
        }
    }

    public void Dispose() => _directory.Dispose();

    private static void AssertRefused(FileBackend backend, string path, byte[] content, string why, long? version = null)
    {
        var errors = new List<Exception>
        {
            Assert.Throws<ToscDataException>(() => backend.Read()),
            Assert.Throws<ToscDataException>(() => backend.Write("new"u8.ToArray(), Guid.NewGuid())),
            Assert.Throws<ToscDataException>(() => backend.TryWrite("new"u8.ToArray(), version, Guid.NewGuid())),
        };
        foreach (var error in errors)
        {
            Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
            Assert.Contains(why, error.Message, StringComparison.Ordinal);
        }
        Assert.Equal(content, File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    private static int InotifyInstances() =>
        new DirectoryInfo($"/proc/{Environment.ProcessId}/fd").GetFileSystemInfos()
            .Count(fd => fd.LinkTarget == "anon_inode:inotify");

    private static int ExitedProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }

    /// <summary>Runs a worker as the user 'nobody' when this process is root (permissions apply to everyone else as they are).</summary>
    private static List<string> RunUnprivileged(string copyTo, params string[] workerArgs)
    {
        // The build output may sit under a directory 'nobody' cannot enter (/root): run a copy from the temp folder.
        if (!Directory.Exists(copyTo))
        {
            Directory.CreateDirectory(copyTo);
            foreach (var file in Directory.GetFiles(AppContext.BaseDirectory))
                File.Copy(file, Path.Combine(copyTo, Path.GetFileName(file)));
        }
        var assembly = Path.Combine(copyTo, Path.GetFileName(typeof(Program).Assembly.Location));
        var asRoot = Environment.UserName == "root";
        var info = new ProcessStartInfo(asRoot ? "setpriv" : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] drop = asRoot ? ["--reuid=65534", "--regid=65534", "--clear-groups", "dotnet"] : [];
        foreach (var arg in drop.Concat(["exec", assembly, "worker", .. workerArgs]))
            info.ArgumentList.Add(arg);
        info.Environment["HOME"] = Path.GetTempPath();
        info.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(Eventually.DefaultDeadline), "the unprivileged child did not finish");
        Assert.True(process.ExitCode == 0, $"the unprivileged child failed ({process.ExitCode}): {errors.Result}");
        return [.. output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }
}
