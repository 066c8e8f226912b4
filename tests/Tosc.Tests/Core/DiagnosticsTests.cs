using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Core;

public sealed class DiagnosticsTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void Meter_CountsCommitsAndConflicts_AndActivitySourceTracesCommits()
    {
        var measured = new Dictionary<string, long>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Tosc")
                listener.EnableMeasurementEvents(instrument);
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (measured)
                measured[instrument.Name] = measured.GetValueOrDefault(instrument.Name) + value;
        });
        meters.Start();
        var activities = new List<string>();
        using var tracing = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Tosc",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity => { lock (activities) activities.Add(activity.OperationName); },
        };
        ActivitySource.AddActivityListener(tracing);

        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Counter());
        var counter = a.Read<Counter>();
        var theirs = b.Read<Counter>();
        theirs.Value = 5;
        Assert.Throws<TransactionConflictException>(() =>
        {
            using var transaction = a.Transaction();
            counter.Value = counter.Value + 1; // read, then changed by b first
            transaction.Commit();
        });
        theirs.Value = 6;
        counter.Value = 2; // a blind write over b's: replayed on top, not a conflict

        lock (measured)
        {
            Assert.True(measured.GetValueOrDefault("tosc.commits") >= 3, "commits counted");
            Assert.True(measured.GetValueOrDefault("tosc.conflicts") >= 1, "conflicts counted");
            Assert.True(measured.GetValueOrDefault("tosc.rebases") >= 1, "rebases counted");
        }
        lock (activities)
            Assert.Contains("tosc.commit", activities);
    }

    [Fact]
    public void AStoredStateTheWatcherCannotApply_IsLoggedAsAnError_ThroughTheConfiguredLogger()
    {
        var logger = new ListLogger();
        var a = _store.Open(new ManagerOptions { Logger = logger, PollInterval = TimeSpan.FromMilliseconds(50) });
        a.Write(new Counter());
        a.Read<Counter>();

        _store.Backend.Write("not a tosc value"u8.ToArray(), Guid.NewGuid());

        Eventually.True(() => logger.Count(LogLevel.Error) > 0, "an error about the unreadable state");
        Assert.Contains(logger.Messages, m => m.Contains("cannot apply the stored state", StringComparison.Ordinal));
    }

    private sealed class ListLogger : ILogger
    {
        private readonly List<(LogLevel Level, string Message)> _entries = [];

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_entries)
                    return _entries.Select(e => e.Message).ToList();
            }
        }

        public int Count(LogLevel level)
        {
            lock (_entries)
                return _entries.Count(e => e.Level == level);
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries)
                _entries.Add((logLevel, formatter(state, exception)));
        }
    }
}
