using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Storage.Blobs;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests.Blob;

/// <summary>What the Blob backend adds to the shared contract: credentials, containers, foreign blobs, conditional reads, ownership.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobBackendTests(AzuriteFixture azurite)
{
    private readonly string _container = azurite.NewContainer();
    private readonly string _blob = $"state-{Guid.NewGuid():N}"; // xunit makes one instance per test: one blob per test

    [Fact]
    public void Read_WithAWrongAccountKey_ThrowsANonTransientErrorNamingTheAccountKey()
    {
        var wrongKey = Convert.ToBase64String(Encoding.UTF8.GetBytes("not the key of devstoreaccount1 at all"));
        using var backend = new BlobBackend(azurite.Server.ConnectionStringWithKey(wrongKey), _container, _blob);

        var read = Assert.Throws<BackendException>(() => backend.Read());
        var write = Assert.Throws<BackendException>(() => backend.TryWrite(Bytes("x"), null, Guid.NewGuid()));

        foreach (var error in new[] { read, write })
        {
            Assert.False(error.IsTransient);
            Assert.Contains("AccountKey", error.Message, StringComparison.Ordinal);
            Assert.Contains("403", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Read_WhenTheContainerIsMissing_ThrowsNamingTheContainerAndTheOption()
    {
        using var backend = new BlobBackend(azurite.ConnectionString, "no-such-container", _blob);

        var read = Assert.Throws<BackendException>(() => backend.Read());
        var write = Assert.Throws<BackendException>(() => backend.Write(Bytes("x"), Guid.NewGuid()));

        foreach (var error in new[] { read, write })
        {
            Assert.False(error.IsTransient);
            Assert.Contains("'no-such-container'", error.Message, StringComparison.Ordinal);
            Assert.Contains(nameof(BlobBackendOptions.CreateContainerIfMissing), error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TryWrite_WhenTheContainerIsMissingAndTheOptionSaysCreate_CreatesItAndStores()
    {
        var container = $"created-{Guid.NewGuid():N}";
        using var backend = new BlobBackend(azurite.ConnectionString, container, _blob, new BlobBackendOptions { CreateContainerIfMissing = true });

        Assert.Null(backend.Read());
        var version = backend.TryWrite(Bytes("in a new container"), null, Guid.NewGuid());

        Assert.NotNull(version);
        using var other = new BlobBackend(azurite.ConnectionString, container, _blob);
        Assert.Equal("in a new container", Text(other.Read()!.Data));
    }

    [Fact]
    public async Task Read_OfABlobThatIsNotAToscStore_ThrowsToscDataExceptionNamingTheBlob()
    {
        var raw = azurite.Client(_container, _blob);
        await raw.UploadAsync(BinaryData.FromString("someone else's file"));
        using var backend = new BlobBackend(azurite.ConnectionString, _container, _blob);

        var read = Assert.Throws<ToscDataException>(() => backend.Read());
        var write = Assert.Throws<ToscDataException>(() => backend.Write(Bytes("overwrite?"), Guid.NewGuid()));

        Assert.Contains(backend.BlobUri.ToString(), read.Message, StringComparison.Ordinal);
        Assert.Contains("not a Tosc store", read.Message, StringComparison.Ordinal);
        Assert.Contains(backend.BlobUri.ToString(), write.Message, StringComparison.Ordinal);
        Assert.Null(backend.TryWrite(Bytes("only if empty"), null, Guid.NewGuid()));
        Assert.Equal("someone else's file", (await raw.DownloadContentAsync()).Value.Content.ToString());
    }

    [Fact]
    public async Task Read_WhenTheBlobIsUnchanged_GetsA304AndDownloadsNothing()
    {
        var recorder = new StatusRecorder();
        using var reader = new BlobBackend(recorder.Client(azurite, _container, _blob), new BlobBackendOptions { PollInterval = TimeSpan.FromMilliseconds(20) });
        using var writer = new BlobBackend(azurite.ConnectionString, _container, _blob);
        var payload = new byte[64 * 1024];
        var version = writer.Write(payload, Guid.NewGuid());

        var first = reader.Read();
        var second = reader.Read();
        var third = await reader.ReadAsync();
        var waited = await reader.WaitForChangeAsync(version, TimeSpan.FromMilliseconds(200));

        Assert.Equal(version, first?.Version);
        Assert.Equal(version, second?.Version);
        Assert.Equal(version, third?.Version);
        Assert.Equal(version, waited);
        Assert.Equal(payload.Length, first!.Data.Length);
        var gets = recorder.Seen.Where(s => s.Method == HttpMethod.Get).ToArray();
        Assert.True(gets.Length >= 4, $"expected the reads and at least one poll, saw {gets.Length} GETs");
        Assert.Equal((HttpStatusCode.OK, payload.Length), (gets[0].Status, (int)gets[0].BodyBytes));
        Assert.All(gets.Skip(1), g => Assert.Equal((HttpStatusCode.NotModified, 0L), (g.Status, g.BodyBytes)));
    }

    [Fact]
    public void Read_AfterThisClientWrote_DoesNotDownloadItsOwnWriteAgain()
    {
        var recorder = new StatusRecorder();
        using var backend = new BlobBackend(recorder.Client(azurite, _container, _blob));

        var version = backend.TryWrite(Bytes("mine"), null, Guid.NewGuid());
        recorder.Clear();
        var state = backend.Read();

        Assert.Equal(version, state?.Version);
        Assert.Equal("mine", Text(state!.Data));
        Assert.Equal([(HttpMethod.Get, HttpStatusCode.NotModified, 0L)], recorder.Seen);
    }

    [Fact]
    public async Task WaitForChange_WhenNothingChanges_PollsOncePerPollIntervalWithConditionalRequests()
    {
        var recorder = new StatusRecorder();
        var interval = TimeSpan.FromMilliseconds(250);
        using var backend = new BlobBackend(recorder.Client(azurite, _container, _blob), new BlobBackendOptions { PollInterval = interval });
        var known = backend.Write(Bytes("quiet"), Guid.NewGuid());
        recorder.Clear();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        Assert.Equal(known, await backend.WaitForChangeAsync(known, TimeSpan.FromSeconds(2)));

        // One probe at the start, then one per interval.
        var allowed = 2 + (int)(clock.Elapsed / interval);
        var polls = recorder.Seen.Where(s => s.Method == HttpMethod.Get).ToArray();
        Assert.True(polls.Length <= allowed, $"{polls.Length} polls in {clock.ElapsedMilliseconds} ms with a {interval.TotalMilliseconds} ms interval");
        Assert.True(polls.Length >= 3, $"only {polls.Length} polls in {clock.ElapsedMilliseconds} ms");
        Assert.All(polls, p => Assert.Equal(HttpStatusCode.NotModified, p.Status));
    }

    [Fact]
    public async Task WaitForChange_WhenAnotherClientWrites_ReturnsTheNewVersionWithinAPollInterval()
    {
        using var watcher = new BlobBackend(azurite.ConnectionString, _container, _blob, new BlobBackendOptions { PollInterval = TimeSpan.FromMilliseconds(100) });
        using var writer = new BlobBackend(azurite.ConnectionString, _container, _blob);
        var known = writer.Write(Bytes("one"), Guid.NewGuid());
        Assert.Equal(known, watcher.Read()?.Version);

        var waiting = watcher.WaitForChangeAsync(known, TimeSpan.FromMinutes(1)).AsTask();
        var written = await writer.TryWriteAsync(Bytes("two"), known, Guid.NewGuid());

        Assert.Equal(written, await Eventually.Within(waiting, "the poll to see another client's write"));
    }

    [Fact]
    public async Task Dispose_WithTheCallersClient_LeavesItUsableAndEndsWaits()
    {
        var client = azurite.Client(_container, _blob);
        var backend = new BlobBackend(client, new BlobBackendOptions { PollInterval = TimeSpan.FromMinutes(10) });
        var known = backend.Write(Bytes("x"), Guid.NewGuid());
        var waiting = backend.WaitForChangeAsync(known, TimeSpan.FromMinutes(10)).AsTask();

        backend.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => Eventually.Within(waiting, "a wait to end when the backend is disposed"));
        Assert.Throws<ObjectDisposedException>(() => backend.Read());
        Assert.Throws<ObjectDisposedException>(() => backend.Write(Bytes("y"), Guid.NewGuid()));
        Assert.True((await client.ExistsAsync()).Value, "the caller's client stopped working");
    }

    [Fact]
    public async Task ServiceSas_SignedWithTheAccountKey_ReadsAndWritesTheBlob()
    {
        var sas = ServiceSas.ForBlob(AzuriteServer.AccountName, AzuriteServer.AccountKey, _container, _blob, "rcw", DateTimeOffset.UtcNow.AddHours(1));
        using var backend = new BlobBackend(new Uri($"{azurite.Server.BlobEndpoint}/{_container}/{_blob}?{sas}"));

        Assert.Null(await backend.ReadAsync());
        var first = await backend.TryWriteAsync(Bytes("via sas"), null, Guid.NewGuid());
        var second = backend.TryWrite(Bytes("via sas again"), first, Guid.NewGuid());

        Assert.NotNull(second);
        Assert.DoesNotContain("sig=", backend.BlobUri.ToString(), StringComparison.Ordinal);
        using var withKey = new BlobBackend(azurite.ConnectionString, _container, _blob);
        var state = withKey.Read();
        Assert.Equal(second, state?.Version);
        Assert.Equal("via sas again", Text(state!.Data));
    }

    [Fact]
    public void ServiceSas_WhenExpiredOrTampered_ThrowsANonTransientErrorAboutTheSasWithoutLeakingIt()
    {
        var expired = ServiceSas.ForBlob(AzuriteServer.AccountName, AzuriteServer.AccountKey, _container, _blob, "rcw", DateTimeOffset.UtcNow.AddHours(-1));
        var readOnly = ServiceSas.ForBlob(AzuriteServer.AccountName, AzuriteServer.AccountKey, _container, _blob, "r", DateTimeOffset.UtcNow.AddHours(1));
        var tampered = readOnly.Replace("sp=r&", "sp=rcw&", StringComparison.Ordinal);
        using var expiredBackend = new BlobBackend(new Uri($"{azurite.Server.BlobEndpoint}/{_container}/{_blob}?{expired}"));
        using var readOnlyBackend = new BlobBackend(new Uri($"{azurite.Server.BlobEndpoint}/{_container}/{_blob}?{readOnly}"));
        using var tamperedBackend = new BlobBackend(new Uri($"{azurite.Server.BlobEndpoint}/{_container}/{_blob}?{tampered}"));

        Assert.Null(readOnlyBackend.Read()); // reading is allowed, so the token itself is fine
        var errors = new[]
        {
            Assert.Throws<BackendException>(() => expiredBackend.Read()),
            Assert.Throws<BackendException>(() => readOnlyBackend.TryWrite(Bytes("no"), null, Guid.NewGuid())),
            Assert.Throws<BackendException>(() => tamperedBackend.TryWrite(Bytes("no"), null, Guid.NewGuid())),
        };

        Assert.All(errors, error =>
        {
            Assert.False(error.IsTransient);
            Assert.Contains("SAS token", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("sig=", error.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Read_WhenNothingListens_ThrowsATransientErrorNamingTheUrl()
    {
        var port = Loopback.FreePort();
        var connection = $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey};BlobEndpoint=http://127.0.0.1:{port}/{AzuriteServer.AccountName}";
        using var backend = new BlobBackend(connection, "somewhere", "state");

        var error = Assert.Throws<BackendException>(() => backend.Read());

        Assert.True(error.IsTransient);
        Assert.Contains($"http://127.0.0.1:{port}/{AzuriteServer.AccountName}/somewhere/state", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_WhenTheServiceNeverAnswers_TimesOutAsATransientErrorNamingTheOption()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // accepts connections (the backlog does) and never answers
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var connection = $"AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey};BlobEndpoint=http://127.0.0.1:{port}/{AzuriteServer.AccountName}";
        using var backend = new BlobBackend(connection, "quiet", "state", new BlobBackendOptions { RequestTimeout = TimeSpan.FromMilliseconds(300) });
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var read = await Assert.ThrowsAsync<BackendException>(async () => await backend.ReadAsync());
        var write = Assert.Throws<BackendException>(() => backend.TryWrite(Bytes("x"), null, Guid.NewGuid()));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"two timed-out requests took {clock.Elapsed}: something retried");
        foreach (var error in new[] { read, write })
        {
            Assert.True(error.IsTransient);
            Assert.Contains(nameof(BlobBackendOptions.RequestTimeout), error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TransientServerErrors_AreReportedAfterOneRequest_NeverRetriedByTheBackend()
    {
        var recorder = new StatusRecorder();
        using var backend = new BlobBackend(recorder.Client(azurite, _container, _blob));
        var version = backend.Write(Bytes("stored"), Guid.NewGuid());
        recorder.Fault = _ => HttpStatusCode.ServiceUnavailable;
        recorder.Clear();

        var read = await Assert.ThrowsAsync<BackendException>(async () => await backend.ReadAsync());
        var write = await Assert.ThrowsAsync<BackendException>(async () => await backend.TryWriteAsync(Bytes("lost?"), version, Guid.NewGuid()));

        Assert.True(read.IsTransient);
        Assert.True(write.IsTransient);
        Assert.Equal([HttpMethod.Get, HttpMethod.Put], recorder.Seen.Select(s => s.Method));
    }

    [Fact]
    public void Manager_ReadingThroughTransientFailures_IsRetriedByTheCoreAlone()
    {
        var recorder = new StatusRecorder();
        using (var writer = new BlobBackend(azurite.ConnectionString, _container, _blob))
        using (var setup = new Manager(writer, new ManagerOptions { WatchForChanges = false }))
            setup.ReadOrInitialize(() => new Counter { Value = 7 });
        using var backend = new BlobBackend(recorder.Client(azurite, _container, _blob));
        var failuresLeft = 2;
        recorder.Fault = _ => Interlocked.Decrement(ref failuresLeft) >= 0 ? HttpStatusCode.ServiceUnavailable : null;
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });

        Assert.Equal(7, manager.Read<Counter>().Value);

        Assert.Equal([HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK], recorder.Seen.Select(s => s.Status));
    }

    [Fact]
    public void Run_WhenAPutsReplyIsLostAfterTheWriteLanded_ReportsSuccessAndAppliesOnce()
    {
        var recorder = new StatusRecorder();
        using var backend = new BlobBackend(recorder.Client(azurite, _container, _blob));
        // Whole-state commits (one Put Blob each); the append path has its own test below.
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false, DeltaCommits = false });
        var counter = manager.ReadOrInitialize(() => new Counter());
        var lost = 0;
        recorder.LoseReply = r => r.Method == HttpMethod.Put && Interlocked.Increment(ref lost) == 1;
        recorder.Clear();
        var applied = 0;

        manager.Run(() =>
        {
            applied++;
            counter.Value++;
        });

        Assert.Equal(1, applied);
        Assert.Equal(1, recorder.Seen.Count(s => s.Method == HttpMethod.Put)); // the landed write was never sent again
        Assert.Equal(1, counter.Value);
        using var check = new BlobBackend(azurite.ConnectionString, _container, _blob);
        using var reader = new Manager(check, new ManagerOptions { WatchForChanges = false });
        Assert.Equal(1, reader.Read<Counter>().Value);
        Assert.Equal(manager.Version, reader.Version);
    }

    [Fact]
    public void Run_WhenAnAppendsReplyIsLostAfterItLanded_ReportsSuccessAndAppliesOnce()
    {
        var recorder = new StatusRecorder();
        using var backend = new BlobBackend(recorder.Client(azurite, _container, _blob));
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        var counter = manager.ReadOrInitialize(() => new Counter());
        manager.Run(() => counter.Value++); // converts the blob to the log layout
        var lost = 0;
        static bool IsCommit(HttpRequestMessage r) => r.Method == HttpMethod.Put && r.RequestUri!.Query.Contains("comp=blocklist", StringComparison.Ordinal);
        recorder.LoseReply = r => IsCommit(r) && Interlocked.Increment(ref lost) == 1;
        recorder.Clear();
        var applied = 0;

        manager.Run(() =>
        {
            applied++;
            counter.Value++;
        });

        Assert.Equal(1, applied);
        Assert.Equal(1, lost);
        Assert.Equal(2, counter.Value);
        using var check = new BlobBackend(azurite.ConnectionString, _container, _blob);
        Assert.Equal(2, check.ReadLog(null).Records.Count);
        using var reader = new Manager(check, new ManagerOptions { WatchForChanges = false });
        Assert.Equal(2, reader.Read<Counter>().Value);
        Assert.Equal(manager.Version, reader.Version);
    }

    [Fact]
    public async Task AWaitFromTheVersionThisInstanceWrote_WokenByItsNextAppend_SendsNoRequestOfItsOwn()
    {
        // A manager's watcher waits from the version its own commit made, and the next commit wakes it: neither the
        // start of the wait nor the wake-up needs a Get Blob (each cost one per commit before).
        var recorder = new StatusRecorder();
        using var backend = new BlobBackend(recorder.Client(azurite, _container, _blob), new BlobBackendOptions { PollInterval = TimeSpan.FromHours(1) });
        var version = backend.TryWrite(Bytes("v1"), null, Guid.NewGuid())!.Value;
        version = backend.TryAppend(Bytes("r1"), version, Guid.NewGuid())!.Value.Version;
        recorder.Clear();

        var waiting = backend.WaitForChangeAsync(version, TimeSpan.FromHours(1)).AsTask();
        var next = backend.TryAppend(Bytes("r2"), version, Guid.NewGuid())!.Value.Version;
        var seen = await Eventually.Within(waiting, "the wait woken by the instance's own append");
        var atOnce = await backend.WaitForChangeAsync(version, TimeSpan.FromHours(1)); // known older than its own write

        Assert.Equal(next, seen);
        Assert.Equal(next, atOnce);
        Assert.Equal([HttpMethod.Put, HttpMethod.Put], recorder.Seen.Select(s => s.Method)); // Put Block, Put Block List
    }

    [Fact]
    public async Task AWaitFromTheVersionThisInstanceWrote_StillSeesAnotherClientsCommit_AtThePoll()
    {
        using var backend = new BlobBackend(azurite.ConnectionString, _container, _blob, new BlobBackendOptions { PollInterval = TimeSpan.FromMilliseconds(50) });
        var version = backend.TryWrite(Bytes("v1"), null, Guid.NewGuid())!.Value;
        version = backend.TryAppend(Bytes("r1"), version, Guid.NewGuid())!.Value.Version;
        using var other = new BlobBackend(azurite.ConnectionString, _container, _blob);
        var theirs = other.TryAppend(Bytes("r2"), version, Guid.NewGuid())!.Value.Version;

        var seen = await backend.WaitForChangeAsync(version, TimeSpan.FromMinutes(1));

        Assert.Equal(theirs, seen);
    }

    [Fact]
    public void Run_WhenTheReadAfterARefusedAppendFails_RebasesOrRerunsInsteadOfReportingTheOutcomeInDoubt()
    {
        var recorder = new StatusRecorder();
        using var backend = new BlobBackend(recorder.Client(azurite, _container, _blob));
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        var counter = manager.ReadOrInitialize(() => new Counter());
        manager.Run(() => counter.Value++); // converts the blob to the log layout
        using var otherBackend = new BlobBackend(azurite.ConnectionString, _container, _blob);
        using var other = new Manager(otherBackend, new ManagerOptions { WatchForChanges = false });
        var elsewhere = other.Read<Counter>();
        other.Run(() => elsewhere.Value += 10); // the first manager's next append is refused (412)
        // The read that follows the refusal fails once, as Azurite's torn reads under contention made it fail 30 times
        // in a row: nothing of the append landed, so it is a conflict to check, not a lost reply.
        var armed = 1;
        recorder.Fault = r => r.Method == HttpMethod.Get && Interlocked.Exchange(ref armed, 0) == 1 ? System.Net.HttpStatusCode.ServiceUnavailable : null;
        var runs = 0;

        manager.Run(() =>
        {
            runs++;
            counter.Value++;
        });

        Assert.Equal(0, armed);
        Assert.Equal(2, runs); // the refused append read what won, and the body ran again on it
        Assert.Equal(12, counter.Value);
        using var checkBackend = new BlobBackend(azurite.ConnectionString, _container, _blob);
        using var check = new Manager(checkBackend, new ManagerOptions { WatchForChanges = false });
        Assert.Equal(12, check.Read<Counter>().Value);
    }

    [Fact]
    public async Task AStoreOfTheFirstRelease_IsReadAsASnapshot_AndTheFirstAppendConvertsIt()
    {
        // Exactly what the first release writes: one Put Blob, the value as the body, layout 1 in the metadata.
        var blob = new BlobClient(azurite.ConnectionString, _container, _blob, BlobBackend.CreateClientOptions());
        var commitId = Guid.NewGuid();
        await blob.UploadAsync(BinaryData.FromBytes(Bytes("old value")), new Azure.Storage.Blobs.Models.BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { ["toscstore"] = "1", ["toscversion"] = "7", ["tosccommit"] = commitId.ToString("N") },
        });
        using var backend = new BlobBackend(azurite.ConnectionString, _container, _blob);

        var read = backend.Read()!;
        Assert.Equal((7L, "old value", commitId), (read.Version, Text(read.Data), read.CommitId));
        Assert.Empty(read.Log);
        Assert.Equal("old value", Text(backend.ReadLog(null).Snapshot!.Data));
        var appended = backend.TryAppend(Bytes("r8"), 7, Guid.NewGuid())!.Value;

        Assert.Equal(8, appended.Version);
        var metadata = (await blob.GetPropertiesAsync()).Value.Metadata;
        // The first release refuses any toscstore other than "1" ("layout 2, which this version does not know; upgrade Tosc").
        Assert.Equal("2", metadata["toscstore"]);
        using var fresh = new BlobBackend(azurite.ConnectionString, _container, _blob);
        var all = fresh.ReadLog(null);
        Assert.Equal(("old value", 7L, commitId), (Text(all.Snapshot!.Data), all.Snapshot.Version, all.Snapshot.CommitId));
        Assert.Equal(["r8"], all.Records.Select(r => Text(r.Data)));
    }

    [Fact]
    public void ReadLog_AfterAnotherClientAppended_DownloadsOnlyTheNewRecords()
    {
        using var writer = new BlobBackend(azurite.ConnectionString, _container, _blob);
        var version = writer.TryWrite(new byte[200_000], null, Guid.NewGuid())!.Value;
        version = writer.TryAppend(Bytes("r1"), version, Guid.NewGuid())!.Value.Version;
        var recorder = new StatusRecorder();
        using var reader = new BlobBackend(recorder.Client(azurite, _container, _blob));
        reader.ReadLog(null);
        version = writer.TryAppend(Bytes("r2"), version, Guid.NewGuid())!.Value.Version;
        recorder.Clear();

        Assert.Equal(version, reader.ReadVersion());
        Assert.Equal(["r2"], reader.ReadLog(version - 1).Records.Select(r => Text(r.Data)));

        Assert.Equal([HttpStatusCode.PartialContent, HttpStatusCode.NotModified], recorder.Seen.Select(s => s.Status));
        Assert.True(recorder.Seen.Sum(s => s.BodyBytes) < 1000, $"{recorder.Seen.Sum(s => s.BodyBytes)} bytes downloaded");
    }

    [Theory]
    [InlineData(nameof(BlobBackendOptions.PollInterval))]
    [InlineData(nameof(BlobBackendOptions.RequestTimeout))]
    public void Options_WithAnInvalidValue_ThrowNamingTheOption(string option)
    {
        var options = new BlobBackendOptions();
        if (option == nameof(BlobBackendOptions.PollInterval))
            options.PollInterval = TimeSpan.Zero;
        else
            options.RequestTimeout = TimeSpan.FromSeconds(-1);

        var error = Assert.Throws<ArgumentException>(() => new BlobBackend(azurite.ConnectionString, _container, "x", options));

        Assert.Contains($"BlobBackendOptions.{option}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateClientOptions_TurnsTheSdksRetriesOffAndPinsAVersionAzuriteAccepts()
    {
        var options = BlobBackend.CreateClientOptions();

        // Azurite runs without --skipApiVersionCheck here, so every test that reaches it proves the pin is accepted.
        Assert.Equal(0, options.Retry.MaxRetries);
        Assert.Equal(BlobClientOptions.ServiceVersion.V2025_11_05, options.Version);
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte>? data) => data is { } d ? Encoding.UTF8.GetString(d.Span) : "(none)";
}
