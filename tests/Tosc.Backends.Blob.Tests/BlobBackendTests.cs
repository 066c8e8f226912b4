using System.Net;
using System.Net.Sockets;
using System.Text;
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
        using (var raw = azurite.RestClient(_container, _blob))
            await raw.PutAsync(async: true, Bytes("someone else's file"), [], ifMatch: null, ifNoneMatchAny: false, CancellationToken.None);
        using var backend = new BlobBackend(azurite.ConnectionString, _container, _blob);

        var read = Assert.Throws<ToscDataException>(() => backend.Read());
        var write = Assert.Throws<ToscDataException>(() => backend.Write(Bytes("overwrite?"), Guid.NewGuid()));

        Assert.Contains(backend.BlobUri.ToString(), read.Message, StringComparison.Ordinal);
        Assert.Contains("not a Tosc store", read.Message, StringComparison.Ordinal);
        Assert.Contains(backend.BlobUri.ToString(), write.Message, StringComparison.Ordinal);
        Assert.Null(backend.TryWrite(Bytes("only if empty"), null, Guid.NewGuid()));
        using var check = azurite.RestClient(_container, _blob);
        var stored = await check.GetAsync(async: true, headOnly: false, ifNoneMatch: null, CancellationToken.None);
        Assert.Equal("someone else's file", Text(stored.Body));
    }

    [Fact]
    public async Task Read_WhenTheBlobIsUnchanged_GetsA304AndDownloadsNothing()
    {
        var recorder = new StatusRecorder();
        using var http = new HttpClient(recorder);
        using var reader = new BlobBackend(azurite.ConnectionString, _container, _blob, new BlobBackendOptions { HttpClient = http, PollInterval = TimeSpan.FromMilliseconds(20) });
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
        var gets = recorder.Seen.Where(s => s.Method == HttpMethod.Get).ToArray();
        Assert.True(gets.Length >= 4, $"expected the reads and at least one poll, saw {gets.Length} GETs");
        Assert.Equal((HttpStatusCode.OK, payload.Length), (gets[0].Status, (int)gets[0].BodyBytes));
        Assert.All(gets.Skip(1), g => Assert.Equal((HttpStatusCode.NotModified, 0L), (g.Status, g.BodyBytes)));
    }

    [Fact]
    public void Read_AfterThisClientWrote_DoesNotDownloadItsOwnWriteAgain()
    {
        var recorder = new StatusRecorder();
        using var http = new HttpClient(recorder);
        using var backend = new BlobBackend(azurite.ConnectionString, _container, _blob, new BlobBackendOptions { HttpClient = http });

        var version = backend.TryWrite(Bytes("mine"), null, Guid.NewGuid());
        recorder.Clear();
        var state = backend.Read();

        Assert.Equal(version, state?.Version);
        Assert.Equal("mine", Text(state!.Data));
        Assert.Equal([(HttpMethod.Get, HttpStatusCode.NotModified, 0L)], recorder.Seen);
    }

    [Fact]
    public async Task WaitForChange_CalledOverAndOverWithShortTimeouts_PollsNoMoreOftenThanThePollInterval()
    {
        var recorder = new StatusRecorder();
        using var http = new HttpClient(recorder);
        var interval = TimeSpan.FromMilliseconds(500);
        using var backend = new BlobBackend(azurite.ConnectionString, _container, _blob, new BlobBackendOptions { HttpClient = http, PollInterval = interval });
        var known = backend.Write(Bytes("quiet"), Guid.NewGuid());
        recorder.Clear();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // What a watcher loop does: short waits back to back.
        for (var i = 0; i < 20; i++)
            Assert.Equal(known, await backend.WaitForChangeAsync(known, TimeSpan.FromMilliseconds(50)));

        // Polls are at least 0.8 x interval apart; one more for the first wait.
        var allowed = 1 + (int)(clock.Elapsed / (0.8 * interval)) + 1;
        var polls = recorder.Seen.Count(s => s.Method == HttpMethod.Get);
        Assert.True(polls <= allowed, $"{polls} polls in {clock.ElapsedMilliseconds} ms with a {interval.TotalMilliseconds} ms interval");
        Assert.True(polls >= 1, "the waits never looked at the store");
    }

    [Fact]
    public async Task WaitForChange_WhenThisClientWrites_WakesWithoutWaitingForThePoll()
    {
        using var backend = new BlobBackend(azurite.ConnectionString, _container, _blob, new BlobBackendOptions { PollInterval = TimeSpan.FromMinutes(10) });
        var known = backend.Write(Bytes("one"), Guid.NewGuid());

        var waiting = backend.WaitForChangeAsync(known, TimeSpan.FromMinutes(10)).AsTask();
        var written = await backend.TryWriteAsync(Bytes("two"), known, Guid.NewGuid());

        Assert.Equal(written, await Eventually.Within(waiting, "a local write to wake the wait"));
    }

    [Fact]
    public void Dispose_WithTheCallersHttpClient_LeavesItUsable()
    {
        using var http = new HttpClient();
        var backend = new BlobBackend(azurite.ConnectionString, _container, _blob, new BlobBackendOptions { HttpClient = http });
        backend.Write(Bytes("x"), Guid.NewGuid());

        backend.Dispose();

        Assert.Throws<ObjectDisposedException>(() => backend.Read());
        // The caller's client still works: any answer from the emulator proves it was not disposed.
        using var response = http.Send(new HttpRequestMessage(HttpMethod.Get, azurite.Server.BlobEndpoint));
        Assert.NotEqual(0, (int)response.StatusCode);
    }

    [Fact]
    public async Task Dispose_WithItsOwnHttpClient_DisposesItAndEndsWaits()
    {
        var backend = new BlobBackend(azurite.ConnectionString, _container, _blob, new BlobBackendOptions { PollInterval = TimeSpan.FromMinutes(10) });
        var known = backend.Write(Bytes("x"), Guid.NewGuid());
        var own = backend.Client.Http;
        var waiting = backend.WaitForChangeAsync(known, TimeSpan.FromMinutes(10)).AsTask();

        backend.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => Eventually.Within(waiting, "a wait to end when the backend is disposed"));
        Assert.Throws<ObjectDisposedException>(() => own.Send(new HttpRequestMessage(HttpMethod.Get, azurite.Server.BlobEndpoint)));
        Assert.Throws<ObjectDisposedException>(() => backend.Write(Bytes("y"), Guid.NewGuid()));
    }

    [Fact]
    public async Task ServiceSas_SignedWithTheAccountKey_ReadsAndWritesTheBlob()
    {
        var blob = _blob;
        var sas = ServiceSas.ForBlob(AzuriteServer.AccountName, AzuriteServer.AccountKey, _container, blob, "rcw", DateTimeOffset.UtcNow.AddHours(1));
        using var backend = new BlobBackend(new Uri($"{azurite.Server.BlobEndpoint}/{_container}/{blob}?{sas}"));
        var commitId = Guid.NewGuid();

        Assert.Null(await backend.ReadAsync());
        var first = await backend.TryWriteAsync(Bytes("via sas"), null, commitId);
        var second = backend.TryWrite(Bytes("via sas again"), first, Guid.NewGuid());

        Assert.NotNull(second);
        Assert.DoesNotContain("sig=", backend.BlobUri.ToString(), StringComparison.Ordinal);
        using var withKey = new BlobBackend(azurite.ConnectionString, _container, blob);
        var state = withKey.Read();
        Assert.Equal(second, state?.Version);
        Assert.Equal("via sas again", Text(state!.Data));
    }

    [Fact]
    public void ServiceSas_WhenExpiredOrTampered_ThrowsANonTransientErrorAboutTheSasWithoutLeakingIt()
    {
        var blob = _blob;
        var expired = ServiceSas.ForBlob(AzuriteServer.AccountName, AzuriteServer.AccountKey, _container, blob, "rcw", DateTimeOffset.UtcNow.AddHours(-1));
        var readOnly = ServiceSas.ForBlob(AzuriteServer.AccountName, AzuriteServer.AccountKey, _container, blob, "r", DateTimeOffset.UtcNow.AddHours(1));
        var tampered = readOnly.Replace("sp=r&", "sp=rcw&", StringComparison.Ordinal);
        using var expiredBackend = new BlobBackend(new Uri($"{azurite.Server.BlobEndpoint}/{_container}/{blob}?{expired}"), new BlobBackendOptions { MaxRetries = 0 });
        using var readOnlyBackend = new BlobBackend(new Uri($"{azurite.Server.BlobEndpoint}/{_container}/{blob}?{readOnly}"));
        using var tamperedBackend = new BlobBackend(new Uri($"{azurite.Server.BlobEndpoint}/{_container}/{blob}?{tampered}"));

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
        using var backend = new BlobBackend(connection, "somewhere", "state", new BlobBackendOptions { MaxRetries = 1, RetryDelay = TimeSpan.Zero });

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
        using var backend = new BlobBackend(connection, "quiet", "state", new BlobBackendOptions { MaxRetries = 0, RequestTimeout = TimeSpan.FromMilliseconds(300) });

        var read = await Assert.ThrowsAsync<BackendException>(async () => await backend.ReadAsync());
        var write = Assert.Throws<BackendException>(() => backend.TryWrite(Bytes("x"), null, Guid.NewGuid()));

        foreach (var error in new[] { read, write })
        {
            Assert.True(error.IsTransient);
            Assert.Contains(nameof(BlobBackendOptions.RequestTimeout), error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TransientServerErrors_AreRetriedForReadsButNeverForWrites()
    {
        var recorder = new StatusRecorder();
        using var http = new HttpClient(recorder);
        using var backend = new BlobBackend(azurite.ConnectionString, _container, _blob,
            new BlobBackendOptions { HttpClient = http, MaxRetries = 3, RetryDelay = TimeSpan.FromMilliseconds(1) });
        var version = backend.Write(Bytes("stored"), Guid.NewGuid());
        var failuresLeft = 2;
        recorder.Fault = _ => Interlocked.Decrement(ref failuresLeft) >= 0 ? HttpStatusCode.ServiceUnavailable : null;
        recorder.Clear();

        var read = await backend.ReadAsync();

        Assert.Equal(version, read?.Version);
        Assert.Equal([HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, HttpStatusCode.NotModified], recorder.Seen.Select(s => s.Status));

        recorder.Fault = r => r.Method == HttpMethod.Put ? HttpStatusCode.InternalServerError : null;
        recorder.Clear();
        var write = await Assert.ThrowsAsync<BackendException>(async () => await backend.TryWriteAsync(Bytes("lost?"), version, Guid.NewGuid()));

        Assert.True(write.IsTransient);
        Assert.Equal(1, recorder.Seen.Count(s => s.Method == HttpMethod.Put));
    }

    [Theory]
    [InlineData(nameof(BlobBackendOptions.PollInterval))]
    [InlineData(nameof(BlobBackendOptions.RequestTimeout))]
    [InlineData(nameof(BlobBackendOptions.MaxRetries))]
    [InlineData(nameof(BlobBackendOptions.RetryDelay))]
    public void Options_WithAnInvalidValue_ThrowNamingTheOption(string option)
    {
        var options = new BlobBackendOptions();
        switch (option)
        {
            case nameof(BlobBackendOptions.PollInterval): options.PollInterval = TimeSpan.Zero; break;
            case nameof(BlobBackendOptions.RequestTimeout): options.RequestTimeout = TimeSpan.FromSeconds(-1); break;
            case nameof(BlobBackendOptions.MaxRetries): options.MaxRetries = -1; break;
            default: options.RetryDelay = TimeSpan.FromSeconds(-1); break;
        }

        var error = Assert.Throws<ArgumentException>(() => new BlobBackend(azurite.ConnectionString, _container, "x", options));

        Assert.Contains($"BlobBackendOptions.{option}", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte>? data) => data is { } d ? Encoding.UTF8.GetString(d.Span) : "(none)";
}
