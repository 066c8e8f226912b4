using System.Collections.Concurrent;
using System.Text;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Blob;

/// <summary>The emulator goes away and comes back while clients are committing.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Restart_WhileTwoClientsCommit_LosesNoAcknowledgedCommit()
    {
        using var azurite = AzuriteServer.Start();
        const string container = "restart";
        const int commitsPerWriter = 40;
        var options = new BlobBackendOptions { CreateContainerIfMissing = true, RequestTimeout = TimeSpan.FromSeconds(5) };
        var acknowledged = new ConcurrentBag<Guid>();
        var transientFailures = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        // Each commit appends its id to the payload, so the final payload shows which commits survived.
        async Task Writer()
        {
            using var backend = new BlobBackend(azurite.ConnectionString, container, "ledger", options);
            for (var done = 0; done < commitsPerWriter;)
            {
                var commitId = Guid.NewGuid();
                while (true)
                {
                    stop.Token.ThrowIfCancellationRequested();
                    try
                    {
                        var state = await backend.ReadAsync(stop.Token);
                        if (state is not null && Ids(state).Contains(commitId))
                            break; // an earlier attempt whose reply was lost did commit
                        var payload = Encoding.UTF8.GetBytes((state is null ? "" : Encoding.UTF8.GetString(state.Data.Span)) + commitId.ToString("N") + "\n");
                        if (await backend.TryWriteAsync(payload, state?.Version, commitId, stop.Token) is not null)
                            break;
                    }
                    catch (BackendException e) when (e.IsTransient)
                    {
                        // The emulator is restarting: the outcome is unknown, so read back before trying again.
                        Interlocked.Increment(ref transientFailures);
                        await Task.Delay(20, stop.Token); // back off between attempts, not synchronization
                    }
                }
                acknowledged.Add(commitId);
                done++;
            }
        }

        var writers = new[] { Task.Run(Writer), Task.Run(Writer) };
        await Eventually.TrueAsync(() => acknowledged.Count >= commitsPerWriter / 2 || writers.Any(w => w.IsCompleted), "some commits before the restart");
        azurite.Stop();
        var beforeRestart = acknowledged.ToArray();
        await Eventually.TrueAsync(() => Volatile.Read(ref transientFailures) > 0 || writers.Any(w => w.IsCompleted), "a client to notice the emulator is gone");
        azurite.StartAgain();
        await Eventually.Within(Task.WhenAll(writers).ContinueWith(_ => true, TaskScheduler.Default), "the writers to finish after the restart", TimeSpan.FromMinutes(3));
        await Task.WhenAll(writers);

        using var reader = new BlobBackend(azurite.ConnectionString, container, "ledger");
        var stored = Ids(reader.Read() ?? throw new InvalidOperationException("the store is empty after the restart"));
        Assert.True(transientFailures > 0, "the restart happened while nobody was committing; the test proved nothing");
        Assert.True(beforeRestart.Length < 2 * commitsPerWriter, "all commits finished before the restart");
        Assert.Equal(2 * commitsPerWriter, acknowledged.Count);
        Assert.All(acknowledged, id => Assert.Contains(id, stored));
        Assert.Equal(stored.Count, stored.Distinct().Count());
        Assert.Equal(acknowledged.Count, stored.Count);
    }

    private static List<Guid> Ids(StoredState state) =>
        [.. Encoding.UTF8.GetString(state.Data.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Guid.Parse)];
}
