using System.Collections.Concurrent;
using System.Diagnostics;

namespace Tosc.Testing;

/// <summary>
/// Kills the processes a test run started (servers, workers) when it ends, however it ends: a server or worker left
/// running would hold a port, a lock or a data directory for the next run.
/// </summary>
public static class ExitGuard
{
    private static readonly ConcurrentDictionary<Process, bool> Running = Create();

    /// <summary>Kills <paramref name="process"/> (and its children) when this process exits, unless <see cref="Forget"/> was called.</summary>
    public static void Track(Process process) => Running[process] = true;

    /// <summary>Stops watching <paramref name="process"/>: its owner has stopped it.</summary>
    public static void Forget(Process process) => Running.TryRemove(process, out _);

    /// <summary>Kills every tracked process now (for Ctrl+C handlers).</summary>
    public static void KillAll()
    {
        foreach (var process in Running.Keys)
        {
            try
            {
                if (!process.HasExited)
                    process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone already, or never started.
            }
            Forget(process);
        }
    }

    private static ConcurrentDictionary<Process, bool> Create()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        return new ConcurrentDictionary<Process, bool>(ReferenceEqualityComparer.Instance);
    }
}
