using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Tosc.Testing;

/// <summary>What the kit's server launchers (Redis, PostgreSQL, etcd) share about running a server process.</summary>
internal static class ServerProcess
{
    /// <summary>
    /// Starts <paramref name="info"/> with its output redirected and drained (a server never blocks on a full pipe),
    /// killed when the test run exits (<see cref="ExitGuard"/>), keeping the last 20 lines of standard error in
    /// <paramref name="errors"/> for messages.
    /// </summary>
    /// <exception cref="InvalidOperationException">The program is not installed: <paramref name="notInstalled"/> says how to install it.</exception>
    public static Process Start(ProcessStartInfo info, string notInstalled, ConcurrentQueue<string>? errors = null)
    {
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(notInstalled, e);
        }
        ExitGuard.Track(process);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (sender, e) =>
        {
            if (errors is null || e.Data is not { } line)
                return;
            errors.Enqueue(line);
            while (errors.Count > 20)
                errors.TryDequeue(out _);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs <paramref name="start"/> on a new server; disposes the server (stopping what started) when it fails.</summary>
    public static T Started<T>(T server, Action<T> start) where T : IDisposable
    {
        try
        {
            start(server);
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return server;
    }

    /// <summary>Sends <paramref name="signal"/> (e.g. <c>TERM</c>, <c>STOP</c>) to <paramref name="process"/>.</summary>
    /// <exception cref="InvalidOperationException"><c>kill</c> failed.</exception>
    public static void Signal(Process process, string signal, string description)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        if (!kill.WaitForExit(TimeSpan.FromSeconds(30)) || kill.ExitCode != 0)
            throw new InvalidOperationException($"kill -{signal} of {description} failed (exit code {(kill.HasExited ? kill.ExitCode : "none, still running")}).");
    }

    /// <summary>Removes a server's temporary directory; a file still held open leaves it for the system to clean.</summary>
    public static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file still held open; the temporary folder is cleaned eventually.
        }
    }
}
