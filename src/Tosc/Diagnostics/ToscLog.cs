using Microsoft.Extensions.Logging;

namespace Tosc.Diagnostics;

internal static partial class ToscLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Tosc watcher failed ({Failures} in a row); it backs off and continues.")]
    public static partial void WatcherFailed(ILogger logger, Exception exception, int failures);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "A Tosc Changed event handler threw; the watcher continues.")]
    public static partial void ChangedHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Tosc could not refresh after a conflict; the watcher will.")]
    public static partial void RefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Tosc cannot apply the stored state to its live objects; they keep the last state it could read, and its commits fail until it can.")]
    public static partial void StoredStateUnreadable(ILogger logger, ToscDataException exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Tosc could not compact the log at version {Version}; a later commit will.")]
    public static partial void CompactionFailed(ILogger logger, Exception exception, long version);
}
