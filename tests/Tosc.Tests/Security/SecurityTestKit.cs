using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Tosc.Tests.Security;

/// <summary>A live class stored by the security tests.</summary>
public class Vault
{
    public virtual int Balance { get; set; }

    public virtual string Owner { get; set; } = "";

    public virtual IList<string> Notes { get; set; } = new List<string>();
}

/// <summary>Collects what a manager logs, so a test can see that the watcher reported a failure.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> _entries = new();

    public IReadOnlyCollection<(LogLevel Level, string Message, Exception? Exception)> Entries => _entries.ToArray();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, formatter(state, exception), exception));
}

internal static class SecurityTestKit
{
    public static byte[] Key(byte fill) => Enumerable.Repeat(fill, 32).Select((b, i) => (byte)(b + i)).ToArray();

    public static ManagerOptions Options(StateProtection? protection, bool watch = false, ILogger? logger = null) => new()
    {
        Protection = protection,
        WatchForChanges = watch,
        PollInterval = TimeSpan.FromMilliseconds(100),
        Logger = logger,
    };

    public static byte[] Stored(IBackend backend) => (backend.Read() ?? throw new InvalidOperationException("The store is empty.")).Data.ToArray();

    public static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
