using System.Runtime.CompilerServices;
using System.Text;
using StackExchange.Redis;
using Tosc.Testing;
using Xunit;

namespace Tosc.Tests;

public sealed class RedisBackendTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>
{
    private RedisServer Server => fixture.Server;

    [Fact]
    public void Write_StoresAMarkedHashUnderPrefixAndKey()
    {
        var key = Me();
        using var backend = new RedisBackend(Server.Configuration, key, new RedisBackendOptions { KeyPrefix = "app1:" });

        backend.Write(Bytes("x"), Guid.NewGuid());

        Assert.Equal("app1:" + key, backend.Key);
        Assert.Equal("+hash", Server.Command($"TYPE app1:{key}"));
        Assert.Equal(":0", Server.Command($"EXISTS tosc:{key}"));
        Assert.Equal("$1", Server.Command($"HGET app1:{key} tosc"));
    }

    [Fact]
    public void KeyPrefixes_SeparateStoresWithTheSameKey()
    {
        var key = Me();
        using var first = new RedisBackend(Server.Configuration, key, new RedisBackendOptions { KeyPrefix = "first:" });
        using var second = new RedisBackend(Server.Configuration, key, new RedisBackendOptions { KeyPrefix = "second:" });

        first.Write(Bytes("one"), Guid.NewGuid());

        Assert.Null(second.Read());
        Assert.NotNull(second.TryWrite(Bytes("two"), null, Guid.NewGuid()));
        Assert.Equal("one", Text(first.Read()!.Data));
    }

    [Fact]
    public async Task Databases_AreIndependentStoresAndNotifyOnlyTheirOwnWaiters()
    {
        var key = Me();
        var quiet = new RedisBackendOptions { Database = 3, PollInterval = TimeSpan.FromHours(1) };
        using var inThree = new RedisBackend(Server.Configuration, key, quiet);
        using var inFour = new RedisBackend(Server.Configuration, key, new RedisBackendOptions { Database = 4 });
        var known = inThree.Write(Bytes("three"), Guid.NewGuid());

        var waiting = inThree.WaitForChangeAsync(known, TimeSpan.FromMilliseconds(500)).AsTask();
        inFour.Write(Bytes("four"), Guid.NewGuid());

        Assert.Equal(known, await Eventually.Within(waiting, "a wait in database 3 to time out"));
        Assert.Equal("three", Text(inThree.Read()!.Data));
        Assert.Equal("four", Text(inFour.Read()!.Data));
    }

    [Fact]
    public async Task WaitForChange_IsWokenByPubSub_WithoutWaitingForThePoll()
    {
        var key = Me();
        var noPoll = new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) };
        using var waiter = new RedisBackend(Server.Configuration, key, noPoll);
        using var writer = new RedisBackend(Server.Configuration, key);
        var known = writer.Write(Bytes("before"), Guid.NewGuid());

        var waiting = waiter.WaitForChangeAsync(known, TimeSpan.FromHours(1)).AsTask();
        var written = writer.Write(Bytes("after"), Guid.NewGuid());

        Assert.Equal(written, await Eventually.Within(waiting, "the pub/sub message to wake the waiter"));
    }

    [Fact]
    public async Task WaitForChange_WhenTheSameInstanceWrites_WakesItsOtherWaiters()
    {
        // Two managers may share one backend instance: its own commits must wake the other's watcher.
        using var shared = new RedisBackend(Server.Configuration, Me(), new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) });
        var known = shared.Write(Bytes("before"), Guid.NewGuid());

        var waiting = shared.WaitForChangeAsync(known, TimeSpan.FromHours(1)).AsTask();
        var written = await shared.TryWriteAsync(Bytes("after"), known, Guid.NewGuid());

        Assert.Equal(written, await Eventually.Within(waiting, "a write through the same instance to wake its waiter"));
    }

    [Fact]
    public async Task WaitForChange_WhenANotificationIsLost_SeesTheChangeAtThePollInterval()
    {
        var key = Me();
        using var backend = new RedisBackend(Server.Configuration, key, new RedisBackendOptions { PollInterval = TimeSpan.FromMilliseconds(200) });
        var known = backend.Write(Bytes("before"), Guid.NewGuid());

        var waiting = backend.WaitForChangeAsync(known, TimeSpan.FromHours(1)).AsTask();
        // Change the version behind the script's back: no message is published, as when one is lost in a reconnect.
        Assert.Equal(":0", Server.Command($"HSET tosc:{key} version {known + 1000}"));

        Assert.Equal(known + 1000, await Eventually.Within(waiting, "the poll to see a change that was never announced"));
    }

    [Fact]
    public async Task TryWrite_AfterTheServerForgotTheScript_ReloadsItAndWrites()
    {
        using var server = RedisServer.Start();
        using var backend = new RedisBackend(server.Configuration, Me());
        var first = backend.Write(Bytes("one"), Guid.NewGuid());

        Assert.Equal("+OK", server.Command("SCRIPT FLUSH"));
        var second = backend.TryWrite(Bytes("two"), first, Guid.NewGuid());
        Assert.Equal("+OK", server.Command("SCRIPT FLUSH"));
        var third = await backend.TryWriteAsync(Bytes("three"), second, Guid.NewGuid());

        Assert.NotNull(second);
        Assert.NotNull(third);
        Assert.True(third > second && second > first, $"versions {first}, {second}, {third}");
        Assert.Equal("three", Text(backend.Read()!.Data));
    }

    [Fact]
    public async Task TryWrite_AgainWithACommitIdThatCommitted_ReturnsItsVersionAndChangesNothing()
    {
        // A call whose reply was lost may still reach the server late, or be made again: it must never apply twice.
        using var backend = new RedisBackend(Server.Configuration, Me());
        var commitId = Guid.NewGuid();
        var first = backend.TryWrite(Bytes("once"), null, commitId);

        var again = backend.TryWrite(Bytes("twice"), null, commitId);
        var againAsync = await backend.TryWriteAsync(Bytes("twice"), 12345, commitId);
        var unconditional = backend.Write(Bytes("twice"), commitId);

        Assert.NotNull(first);
        Assert.Equal(first, again);
        Assert.Equal(first, againAsync);
        Assert.Equal(first, unconditional);
        var state = backend.Read();
        Assert.Equal(first, state?.Version);
        Assert.Equal("once", Text(state!.Data));
    }

    [Fact]
    public async Task Commit_WhoseReplyCameAfterTheTimeout_IsSettledByTheCoreByItsCommitIdAndSucceeds()
    {
        using var server = RedisServer.Start();
        using var backend = new RedisBackend(server.Configuration, Me(), new RedisBackendOptions { OperationTimeout = TimeSpan.FromSeconds(1) });
        using var manager = new Manager(backend, new ManagerOptions { WatchForChanges = false, BackendRetries = 8 });
        var counter = manager.ReadOrInitialize(() => new SharedCounter());

        // The server holds every command for 2 s: the commit outlives its 1 s timeout but still lands afterwards,
        // and the core's read-back (behind it on the same connection) finds its commit id.
        Assert.Equal("+OK", server.Command("CLIENT PAUSE 2000 ALL"));
        manager.Run(() => counter.Value++);
        Assert.Equal("+OK", server.Command("CLIENT PAUSE 2000 ALL"));
        await manager.RunAsync(() =>
        {
            counter.Value++;
            return Task.CompletedTask;
        });

        using var observer = new Manager(backend, new ManagerOptions { WatchForChanges = false });
        Assert.Equal(2, observer.Read<SharedCounter>().Value);
        Assert.Equal(backend.ReadVersion(), manager.Version);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TimedOutCommit_ThatAReadBackFoundMissing_NeverLandsLater(bool callersConnectionWithDefaultBacklog)
    {
        // StackExchange.Redis 2.x queues commands while disconnected by default: a commit issued while the server is
        // away must not reach it after reconnecting once a read-back said it had not landed (the core then reports
        // it failed, or tries it again under the same commit id).
        using var server = RedisServer.Start(durable: true);
        using var connection = callersConnectionWithDefaultBacklog
            ? await ConnectionMultiplexer.ConnectAsync(server.Configuration + ",syncTimeout=500,asyncTimeout=500")
            : null;
        var options = new RedisBackendOptions { OperationTimeout = TimeSpan.FromMilliseconds(500) };
        using var backend = connection is null ? new RedisBackend(server.Configuration, Me(), options) : new RedisBackend(connection, Me(), options);
        var version = backend.Write(Bytes("before"), Guid.NewGuid());
        var lost = Guid.NewGuid();

        server.Crash();
        var failure = await Assert.ThrowsAsync<BackendException>(async () => await backend.TryWriteAsync(Bytes("lost"), version, lost));
        Assert.True(failure.IsTransient, failure.Message);
        Assert.Throws<BackendException>(() => backend.Read()); // the read-back fails too while the server is away
        server.StartAgain();
        StoredState? readBack = null;
        Eventually.True(() => Succeeds(() => readBack = backend.Read()), "a read-back once the server is back");

        Assert.NotEqual(lost, readBack?.CommitId);
        Assert.Equal(version, readBack?.Version);
        await Task.Delay(1500); // longer than the timeouts and a heartbeat: anything still queued would have been sent
        // A read here may itself hit the 500 ms timeout on a loaded machine (the client just reconnected): what is
        // checked is what the store holds, so a timed-out read is asked again.
        StoredState? after = null;
        Eventually.True(() => Succeeds(() => after = backend.Read()), "a read after the wait");
        Assert.Equal(version, after?.Version);
        Assert.Equal("before", Text(after!.Data));
    }

    [Fact]
    public void CommitHistory_StaysBounded()
    {
        using var backend = new RedisBackend(Server.Configuration, Me());
        for (var i = 0; i < 1100; i++)
            backend.Write(Bytes("x"), Guid.NewGuid());

        var fields = int.Parse(Server.Command($"HLEN {backend.Key}")[1..], System.Globalization.CultureInfo.InvariantCulture);

        // tosc, version, data, commit, seq, and two fields per remembered commit.
        Assert.Equal(5 + 2 * 1000, fields);
    }

    [Fact]
    public async Task ReadVersion_MatchesReadAndRejectsAForeignKey()
    {
        var key = Me();
        using var backend = new RedisBackend(Server.Configuration, key);
        Assert.Null(backend.ReadVersion());
        Assert.Null(await backend.ReadVersionAsync());

        var version = backend.Write(Bytes("x"), Guid.NewGuid());
        Assert.Equal(version, backend.ReadVersion());
        Assert.Equal(version, await backend.ReadVersionAsync());

        using var foreign = new RedisBackend(Server.Configuration, key + "-foreign");
        Server.Command($"HSET {foreign.Key} version 7");
        var failure = Assert.Throws<ToscDataException>(() => foreign.ReadVersion());
        Assert.Contains(foreign.Key, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SET {0} plain-string", "GET {0}", "value that is not a Tosc store")]
    [InlineData("RPUSH {0} a b", "LLEN {0}", "value that is not a Tosc store")]
    [InlineData("HSET {0} name someone-else", "HLEN {0}", "hash that is not a Tosc store")]
    [InlineData("HSET {0} tosc 99 version 1", "HLEN {0}", "layout this version cannot read")]
    public async Task Calls_OnAKeyHoldingSomethingElse_ThrowToscDataExceptionNamingTheKeyAndLeaveItAlone(string setup, string probe, string expected)
    {
        using var backend = new RedisBackend(Server.Configuration, Me() + "-" + setup.Split(' ')[0]);
        Server.Command(Format(setup, backend.Key));
        var before = Server.Command(Format(probe, backend.Key));

        var failures = new List<Exception>
        {
            Assert.Throws<ToscDataException>(() => backend.Read()),
            Assert.Throws<ToscDataException>(() => backend.Write(Bytes("mine"), Guid.NewGuid())),
            Assert.Throws<ToscDataException>(() => backend.TryWrite(Bytes("mine"), null, Guid.NewGuid())),
            await Assert.ThrowsAsync<ToscDataException>(async () => await backend.TryWriteAsync(Bytes("mine"), 1, Guid.NewGuid())),
            await Assert.ThrowsAsync<ToscDataException>(async () => await backend.ReadAsync()),
        };

        foreach (var failure in failures)
        {
            Assert.Contains($"'{backend.Key}'", failure.Message, StringComparison.Ordinal);
            Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        }
        Assert.Equal(before, Server.Command(Format(probe, backend.Key)));
    }

    [Fact]
    public async Task Constructor_WhenNoServerListens_ThrowsTransientBackendExceptionNamingTheEndpoint()
    {
        var port = Loopback.FreePort();
        var options = new RedisBackendOptions { ConnectTimeout = TimeSpan.FromMilliseconds(500) };

        var failure = await Eventually.Within(
            Task.Run(() => Assert.Throws<BackendException>(() => new RedisBackend($"127.0.0.1:{port}", Me(), options))),
            "the constructor to give up on a server that is not there");

        Assert.True(failure.IsTransient);
        Assert.Contains($"127.0.0.1:{port}", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(",password=wrong")]
    [InlineData("")]
    public void Constructor_WithAWrongOrMissingPassword_ThrowsPermanentBackendExceptionAboutThePassword(string credentials)
    {
        using var server = RedisServer.Start(password: "right-password");
        var options = new RedisBackendOptions { ConnectTimeout = TimeSpan.FromSeconds(1) };

        var failure = Assert.Throws<BackendException>(() => new RedisBackend($"127.0.0.1:{server.Port}{credentials}", Me(), options));

        Assert.False(failure.IsTransient);
        Assert.Contains("password", failure.Message, StringComparison.Ordinal);
        Assert.Contains("configuration string", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("right-password", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_WithTheRightPassword_Works()
    {
        using var server = RedisServer.Start(password: "right-password");
        using var backend = new RedisBackend(server.Configuration, Me());

        var version = backend.Write(Bytes("secret"), Guid.NewGuid());

        Assert.Equal(version, backend.Read()?.Version);
    }

    [Theory]
    [InlineData("")]
    [InlineData("password=only")]
    [InlineData("127.0.0.1:1,no-such-option=1")]
    public void Constructor_WithABadConfigurationString_ThrowsArgumentExceptionNamingIt(string configuration)
    {
        var failure = Assert.ThrowsAny<ArgumentException>(() => new RedisBackend(configuration, Me()));

        Assert.Equal("configuration", failure.ParamName);
    }

    [Fact]
    public async Task AclUser_WithOnlyTheDocumentedPermissions_CanUseTheStore()
    {
        using var server = RedisServer.Start(password: "admin-password");
        Assert.Equal("+OK", server.Command($"ACL SETUSER app on >app-password resetkeys resetchannels {RestrictedAcl}"));
        var configuration = $"127.0.0.1:{server.Port},user=app,password=app-password";
        var noPoll = new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) };
        using var waiter = new RedisBackend(configuration, "acl", noPoll);
        using var writer = new RedisBackend(configuration, "acl");

        var first = writer.Write(Bytes("one"), Guid.NewGuid());
        var waiting = waiter.WaitForChangeAsync(first, TimeSpan.FromHours(1)).AsTask();
        Assert.Equal("+OK", server.Command("SCRIPT FLUSH")); // the user must be able to send the script itself too
        var second = await writer.TryWriteAsync(Bytes("two"), first, Guid.NewGuid());

        Assert.Equal(second, await Eventually.Within(waiting, "the restricted user's subscription to hear the commit"));
        Assert.Equal("two", Text(waiter.Read()!.Data));
        Assert.Null(writer.TryWrite(Bytes("stale"), first, Guid.NewGuid()));

        // The log: appends (the first one converts the layout), reads from a version, compaction, a whole write over it.
        Assert.Equal("+OK", server.Command("SCRIPT FLUSH"));
        var r1 = writer.TryAppend(Bytes("r1"), second!.Value, Guid.NewGuid())!.Value;
        var r2 = (await writer.TryAppendAsync(Bytes("r2"), r1.Version, Guid.NewGuid()))!.Value;
        Assert.Equal(["r2"], waiter.ReadLog(r1.Version).Records.Select(r => Text(r.Data)));
        Assert.True(writer.TryCompact(Bytes("one-two"), r1.Version));
        Assert.Equal("one-two", Text(waiter.Read()!.Data));
        Assert.NotNull(writer.TryWrite(Bytes("whole"), r2.Version, Guid.NewGuid()));
        Assert.Empty(waiter.ReadLog(null).Records);
    }

    [Fact]
    public void AclUser_WithoutAccessToTheLogStream_FailsAtConstructionNamingIt()
    {
        using var server = RedisServer.Start(password: "admin-password");
        Assert.Equal("+OK", server.Command($"ACL SETUSER hashonly on >pw resetkeys resetchannels {RestrictedAcl.Replace(" ~{tosc:*", "", StringComparison.Ordinal)}"));

        var failure = Assert.Throws<BackendException>(() => new RedisBackend($"127.0.0.1:{server.Port},user=hashonly,password=pw", "orders"));

        Assert.False(failure.IsTransient);
        Assert.Contains("ACL", failure.Message, StringComparison.Ordinal);
        Assert.Contains("{tosc:orders}:log", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AclUser_WithoutAccessToTheKey_FailsAtConstructionNamingTheAcl()
    {
        using var server = RedisServer.Start(password: "admin-password");
        Assert.Equal("+OK", server.Command($"ACL SETUSER other on >other-password resetkeys resetchannels {RestrictedAcl.Replace("~tosc:*", "~elsewhere:*", StringComparison.Ordinal)}"));

        var failure = Assert.Throws<BackendException>(() => new RedisBackend($"127.0.0.1:{server.Port},user=other,password=other-password", Me()));

        Assert.False(failure.IsTransient);
        Assert.Contains("ACL", failure.Message, StringComparison.Ordinal);
        Assert.Contains("tosc:", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AclUser_WithAWrongPassword_ThrowsPermanentBackendExceptionAboutTheCredentials()
    {
        // The default user has a password too: a client whose AUTH fails is left as the default user.
        using var server = RedisServer.Start(password: "admin-password");
        Assert.Equal("+OK", server.Command($"ACL SETUSER app on >app-password resetkeys resetchannels {RestrictedAcl}"));
        var options = new RedisBackendOptions { ConnectTimeout = TimeSpan.FromSeconds(1) };

        var failure = Assert.Throws<BackendException>(() => new RedisBackend($"127.0.0.1:{server.Port},user=app,password=wrong", Me(), options));

        Assert.False(failure.IsTransient);
        Assert.Contains("password (and user)", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForChange_WithAChannelPrefixInTheConfiguration_StillHearsPubSub()
    {
        var key = Me();
        var configuration = Server.Configuration + ",channelPrefix=app1:";
        using var waiter = new RedisBackend(configuration, key, new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) });
        using var writer = new RedisBackend(configuration, key);
        var known = writer.Write(Bytes("before"), Guid.NewGuid());

        var waiting = waiter.WaitForChangeAsync(known, TimeSpan.FromHours(1)).AsTask();
        var written = writer.Write(Bytes("after"), Guid.NewGuid());

        Assert.Equal(written, await Eventually.Within(waiting, "a message on the prefixed channel"));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void Constructor_WithoutAKey_ThrowsArgumentException(string? key)
    {
        using var connection = ConnectionMultiplexer.Connect(Server.Configuration);

        var failure = Assert.ThrowsAny<ArgumentException>(() => new RedisBackend(Server.Configuration, key!));
        var onTheCallersConnection = Assert.ThrowsAny<ArgumentException>(() => new RedisBackend(connection, key!));

        Assert.Equal("key", failure.ParamName);
        Assert.Equal("key", onTheCallersConnection.ParamName);
        Assert.True(connection.IsConnected);
    }

    public static TheoryData<string, RedisBackendOptions> BadOptions => new()
    {
        { "KeyPrefix", new RedisBackendOptions { KeyPrefix = null! } },
        { "Database", new RedisBackendOptions { Database = -2 } },
        { "OperationTimeout", new RedisBackendOptions { OperationTimeout = TimeSpan.Zero } },
        { "ConnectTimeout", new RedisBackendOptions { ConnectTimeout = TimeSpan.FromMilliseconds(-5) } },
        { "PollInterval", new RedisBackendOptions { PollInterval = TimeSpan.FromDays(30) } },
        { "WaitForReplicas", new RedisBackendOptions { WaitForReplicas = -1 } },
        { "WaitForReplicasTimeout", new RedisBackendOptions { WaitForReplicas = 1, WaitForReplicasTimeout = TimeSpan.FromSeconds(3) } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Constructor_WithABadOption_ThrowsArgumentExceptionNamingTheOption(string option, RedisBackendOptions options)
    {
        // Validation happens before any connection: a port nobody listens on proves it.
        var failure = Assert.Throws<ArgumentException>(() => new RedisBackend($"127.0.0.1:{Loopback.FreePort()}", Me(), options));

        Assert.Contains("RedisBackendOptions." + option, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_AreCopiedAtConstruction()
    {
        var options = new RedisBackendOptions { KeyPrefix = "copied:" };
        using var backend = new RedisBackend(Server.Configuration, Me(), options);

        options.KeyPrefix = "changed:";

        Assert.StartsWith("copied:", backend.Key, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_WhileTheServerIsDown_FailTransientlyWithinTheirTimeout_AndWorkOnceItIsBack()
    {
        using var server = RedisServer.Start(durable: true);
        var options = new RedisBackendOptions { OperationTimeout = TimeSpan.FromSeconds(1), PollInterval = TimeSpan.FromMilliseconds(200) };
        using var backend = new RedisBackend(server.Configuration, Me(), options);
        var version = backend.Write(Bytes("before"), Guid.NewGuid());

        server.Crash();

        var failures = new List<BackendException>
        {
            await Fails(() => backend.Read()),
            await Fails(() => backend.TryWrite(Bytes("down"), version, Guid.NewGuid())),
            await Fails(() => backend.Write(Bytes("down"), Guid.NewGuid())),
            await Fails(() => backend.ReadAsync().AsTask().GetAwaiter().GetResult()),
            await Fails(() => backend.TryWriteAsync(Bytes("down"), version, Guid.NewGuid()).AsTask().GetAwaiter().GetResult()),
            await Fails(() => backend.WaitForChangeAsync(version, TimeSpan.FromMinutes(1)).AsTask().GetAwaiter().GetResult()),
        };
        foreach (var failure in failures)
        {
            Assert.True(failure.IsTransient, failure.Message);
            Assert.Contains($"127.0.0.1:{server.Port}", failure.Message, StringComparison.Ordinal);
            Assert.Contains(backend.Key, failure.Message, StringComparison.Ordinal);
        }

        server.StartAgain();
        Eventually.True(() => Succeeds(() => backend.Read()), "the backend to read again once the server is back");
        Assert.Equal(version, backend.Read()?.Version);
        Assert.NotNull(backend.TryWrite(Bytes("after"), version, Guid.NewGuid()));
    }

    [Fact]
    public void WaitForChange_AfterTheServerRestarted_SeesWritesMadeByOthers()
    {
        using var server = RedisServer.Start(durable: true);
        var options = new RedisBackendOptions { PollInterval = TimeSpan.FromMilliseconds(300) };
        var key = Me();
        using var waiter = new RedisBackend(server.Configuration, key, options);
        using var writer = new RedisBackend(server.Configuration, key, options);
        var known = writer.Write(Bytes("before"), Guid.NewGuid());

        server.Restart();
        Eventually.True(() => Succeeds(() => writer.Read()), "the writer to reconnect");
        var written = writer.Write(Bytes("after"), Guid.NewGuid());

        Eventually.True(() => WaitedVersion(waiter, known).GetAwaiter().GetResult() == written, "the waiter to see the write made after the restart");
    }

    [Fact]
    public void Versions_AfterTheServerLostAllData_DoNotRepeat()
    {
        // Without persistence a restart empties the server; a manager that still holds an old version must
        // never meet that number again with other content.
        using var server = RedisServer.Start(durable: false);
        using var backend = new RedisBackend(server.Configuration, Me());
        var before = Enumerable.Range(0, 5).Select(i => backend.Write(Bytes($"old {i}"), Guid.NewGuid())).ToList();

        server.Restart();
        Eventually.True(() => Succeeds(() => backend.Read()), "the backend to reconnect");
        Assert.Null(backend.Read());
        var after = backend.TryWrite(Bytes("new"), null, Guid.NewGuid());

        Assert.NotNull(after);
        Assert.True(after > before.Max(), $"version {after} after the data loss, {before.Max()} before it");
    }

    [Fact]
    public void Dispose_OfABackendThatOpenedItsConnection_ClosesIt()
    {
        var backend = new RedisBackend(Server.Configuration, Me());
        var connection = backend.Connection;
        Assert.True(connection.IsConnected);

        backend.Dispose();
        backend.Dispose();

        Assert.False(connection.IsConnected);
        Assert.Throws<ObjectDisposedException>(() => backend.Read());
        Assert.Throws<ObjectDisposedException>(() => backend.Write(Bytes("no"), Guid.NewGuid()));
    }

    [Fact]
    public async Task Dispose_OfABackendOnTheCallersConnection_LeavesItOpenAndOtherBackendsListening()
    {
        using var connection = ConnectionMultiplexer.Connect(Server.Configuration);
        var key = Me();
        var noPoll = new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) };
        var disposed = new RedisBackend(connection, key, noPoll);
        using var remaining = new RedisBackend(connection, key, noPoll);
        using var writer = new RedisBackend(Server.Configuration, key);
        var known = writer.Write(Bytes("before"), Guid.NewGuid());

        disposed.Dispose();

        Assert.True(connection.IsConnected);
        Assert.Throws<ObjectDisposedException>(() => disposed.Read());
        Assert.Equal(known, remaining.Read()?.Version);
        var waiting = remaining.WaitForChangeAsync(known, TimeSpan.FromHours(1)).AsTask();
        var written = writer.Write(Bytes("after"), Guid.NewGuid());
        Assert.Equal(written, await Eventually.Within(waiting, "the remaining backend to still hear changes"));
        Assert.Equal("+PONG", Server.Command("PING"));
        Assert.True(connection.GetDatabase().KeyExists(remaining.Key));
    }

    [Fact]
    public async Task WaitForChange_WhenTheBackendIsDisposed_Ends()
    {
        var backend = new RedisBackend(Server.Configuration, Me(), new RedisBackendOptions { PollInterval = TimeSpan.FromHours(1) });
        var known = backend.Write(Bytes("x"), Guid.NewGuid());
        var waiting = backend.WaitForChangeAsync(known, TimeSpan.FromHours(1)).AsTask();

        backend.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => Eventually.Within(waiting, "a wait to end on dispose"));
    }

    private static async Task<BackendException> Fails(Action call) =>
        await Eventually.Within(Task.Run(() => Assert.Throws<BackendException>(call)), "a call to fail while the server is down");

    private static bool Succeeds(Action call)
    {
        try
        {
            call();
            return true;
        }
        catch (BackendException e) when (e.IsTransient)
        {
            return false;
        }
    }

    private static async Task<long?> WaitedVersion(RedisBackend backend, long? known)
    {
        try
        {
            return await backend.WaitForChangeAsync(known, TimeSpan.FromMilliseconds(500));
        }
        catch (BackendException e) when (e.IsTransient)
        {
            return known;
        }
    }

    /// <summary>The ACL rules docs/redis-backend.md lists for a user of the default key prefix.</summary>
    internal const string RestrictedAcl = "~tosc:* ~{tosc:* &tosc:* -@all +echo +ping +hmget +exists +evalsha +eval +hget +hset +hdel +hincrby +type +time +publish +subscribe +unsubscribe +xadd +xrange +xtrim +del";

    private static string Me([CallerMemberName] string test = "") => $"{test}-{Guid.NewGuid():N}";

    private static string Format(string command, string key) => string.Format(System.Globalization.CultureInfo.InvariantCulture, command, key);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte> data) => Encoding.UTF8.GetString(data.Span);
}
