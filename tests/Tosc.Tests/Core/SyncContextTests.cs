using Xunit;

namespace Tosc.Tests.Core;

public sealed class SyncContextTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void SyncApis_UnderASingleThreadedSynchronizationContext_DoNotDeadlock()
    {
        var finished = RunOnSingleThreadedContext(() =>
        {
            var a = _store.Open();
            var b = _store.OpenQuiet();
            a.Write(new Counter());
            var counter = a.Read<Counter>();
            var other = b.Read<Counter>();
            using (var transaction = a.Transaction())
            {
                counter.Value = counter.Value + 1;
                other.Value = 10; // another manager changes what it read, while a's transaction holds off its watcher
                Assert.Throws<TransactionConflictException>(() => transaction.Commit());
            }
            a.Run(() => counter.Value += 5, retries: 5);
            counter.Value++;
            a.Refresh();
            _ = a.Snapshot();
            return counter.Value;
        });

        Assert.Equal(16, finished);
    }

    private static T RunOnSingleThreadedContext<T>(Func<T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            var context = new SingleThreadedContext();
            SynchronizationContext.SetSynchronizationContext(context);
            try
            {
                result = body();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(60)), "the sync calls finished (no deadlock)");
        if (failure is not null)
            throw new Xunit.Sdk.XunitException($"The body failed: {failure}");
        return result;
    }

    /// <summary>Like a UI context: continuations posted to it only run if its thread pumps, which a blocked thread never does.</summary>
    private sealed class SingleThreadedContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) =>
            throw new InvalidOperationException("A sync API posted a continuation to the caller's context: it would deadlock a UI thread.");
    }
}
