using System.Text;
using Tosc.Testing;
using Xunit;
using static Tosc.Tests.Security.SecurityTestKit;

namespace Tosc.Tests.Security;

/// <summary>Integrity and encryption of the stored state (issue 7): tampered or foreign states are rejected, never applied.</summary>
public class StateProtectionTests
{
    public static TheoryData<string> Modes => new() { "authenticate", "encrypt" };

    private static StateProtection Protection(string mode, byte[] key, params byte[][] previous) =>
        mode == "encrypt" ? StateProtection.Encrypt(key, previous) : StateProtection.Authenticate(key, previous);

    [Theory]
    [MemberData(nameof(Modes))]
    public void Write_ThenReadInAnotherManager_RoundTripsTheValue(string mode)
    {
        using var backend = new InprocBackend();
        var protection = Protection(mode, Key(1));
        using var a = new Manager(backend, Options(protection));
        using var b = new Manager(backend, Options(protection));

        var vault = a.ReadOrInitialize(() => new Vault { Owner = "ada", Balance = 10 });
        using (var tx = a.Transaction())
        {
            vault.Balance += 5;
            vault.Notes.Add("deposit");
            tx.Commit();
        }

        var seen = b.Read<Vault>();
        Assert.Equal(15, seen.Balance);
        Assert.Equal("ada", seen.Owner);
        Assert.Equal(["deposit"], seen.Notes);
        Assert.True(Stored(backend).AsSpan().StartsWith("TOSP"u8), "a protected store starts with the TOSP envelope");
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Read_WhenAStoredBitWasFlipped_ThrowsAndKeepsTheLastGoodState(string mode)
    {
        using var backend = new InprocBackend();
        var protection = Protection(mode, Key(2));
        var logger = new RecordingLogger();
        using var a = new Manager(backend, Options(protection));
        using var b = new Manager(backend, Options(protection, watch: true, logger: logger));
        a.Write(new Vault { Owner = "ada", Balance = 10 });
        var seen = b.Read<Vault>();
        var goodVersion = b.Version;

        // Someone with write access to the store but without the key changes one bit of the payload.
        var tampered = Stored(backend);
        tampered[tampered.Length / 2] ^= 0x04;
        backend.Write(tampered, Guid.NewGuid());

        var e = Assert.Throws<ToscDataException>(() => b.Refresh<Vault>());
        Assert.Contains("not authenticated with an accepted key", e.Message, StringComparison.Ordinal);
        Assert.Equal(10, seen.Balance);
        Assert.Equal("ada", seen.Owner);
        Assert.Equal(goodVersion, b.Version);
        Eventually.True(() => logger.Entries.Any(entry => entry.Exception is ToscDataException), "the watcher to log the rejected state");
        Assert.Equal(10, seen.Balance);

        // The watcher keeps going: the next good state reaches the manager.
        a.Write(new Vault { Owner = "bob", Balance = 42 });
        Eventually.True(() => b.Read<Vault>().Balance == 42, "the watcher to apply the next good state after a rejected one");
        Assert.Equal(backend.Read()!.Version, b.Version);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Unprotect_OfEverySingleBitFlip_Rejects(string mode)
    {
        using var backend = new InprocBackend();
        var protection = Protection(mode, Key(3));
        using var a = new Manager(backend, Options(protection));
        a.Write(new Vault { Owner = "x", Balance = 1, Notes = ["n"] });
        var stored = Stored(backend);

        for (var bit = 0; bit < stored.Length * 8; bit++)
        {
            var copy = (byte[])stored.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            var e = Assert.Throws<ToscDataException>(() => protection.Unprotect(copy));
            Assert.Contains("key", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Unprotect_OfEveryTruncation_Rejects(string mode)
    {
        using var backend = new InprocBackend();
        var protection = Protection(mode, Key(4));
        using var a = new Manager(backend, Options(protection));
        a.Write(new Vault { Owner = "x" });
        var stored = Stored(backend);

        for (var length = 0; length < stored.Length; length++)
            Assert.Throws<ToscDataException>(() => protection.Unprotect(stored.AsMemory(0, length)));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void ManagerWithoutTheKey_RefusesAProtectedStore(string mode)
    {
        using var backend = new InprocBackend();
        using var keyed = new Manager(backend, Options(Protection(mode, Key(5))));
        keyed.Write(new Vault { Owner = "ada" });
        using var plain = new Manager(backend, Options(null));
        using var otherKey = new Manager(backend, Options(Protection(mode, Key(6))));

        Assert.Throws<ToscDataException>(() => plain.Read<Vault>());
        var e = Assert.Throws<ToscDataException>(() => otherKey.Read<Vault>());
        Assert.Contains("not authenticated with an accepted key", e.Message, StringComparison.Ordinal);
        Assert.Contains(StateProtection.Authenticate(Key(5)).KeyId, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void KeyedManager_RefusesAnUnprotectedStore(string mode)
    {
        using var backend = new InprocBackend();
        using var plain = new Manager(backend, Options(null));
        plain.Write(new Vault { Owner = "mallory", Balance = 1_000_000 });
        using var keyed = new Manager(backend, Options(Protection(mode, Key(7))));

        var e = Assert.Throws<ToscDataException>(() => keyed.Read<Vault>());
        Assert.Contains("unprotected", e.Message, StringComparison.Ordinal);
        Assert.Contains("ManagerOptions.Protection", e.Message, StringComparison.Ordinal);
        Assert.Null(keyed.Version);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Rotation_ReadsStatesOfThePreviousKey_AndWritesWithTheNewOne(string mode)
    {
        byte[] oldKey = Key(8), newKey = Key(9);
        using var backend = new InprocBackend();
        using var before = new Manager(backend, Options(Protection(mode, oldKey)));
        before.Write(new Vault { Owner = "ada", Balance = 1 });

        var rotated = Protection(mode, newKey, oldKey);
        using var after = new Manager(backend, Options(rotated));
        var vault = after.Read<Vault>();
        Assert.Equal(1, vault.Balance);

        vault.Balance = 2; // an implicit transaction: written with the new key
        var stored = Stored(backend);
        Assert.Equal(Convert.FromHexString(rotated.KeyId), stored[6..14]);
        Assert.NotEqual(rotated.KeyId, Protection(mode, oldKey).KeyId);

        // A manager that still has only the old key can no longer read it; one with only the new key can.
        Assert.Throws<ToscDataException>(() => before.Refresh<Vault>());
        using var onlyNew = new Manager(backend, Options(Protection(mode, newKey)));
        Assert.Equal(2, onlyNew.Read<Vault>().Balance);
    }

    [Fact]
    public void Encrypt_HidesThePlaintext_AndUsesAFreshNonceEveryWrite()
    {
        const string Secret = "correct horse battery staple";
        using var plainBackend = new InprocBackend();
        using var encryptedBackend = new InprocBackend();
        using var plain = new Manager(plainBackend, Options(null));
        using var encrypted = new Manager(encryptedBackend, Options(StateProtection.Encrypt(Key(10))));
        var needle = Encoding.UTF8.GetBytes(Secret);

        plain.Write(new Vault { Owner = Secret });
        encrypted.Write(new Vault { Owner = Secret });
        var first = Stored(encryptedBackend);
        encrypted.Write(new Vault { Owner = Secret });
        var second = Stored(encryptedBackend);

        Assert.True(IndexOf(Stored(plainBackend), needle) >= 0, "the control: an unprotected store holds the string as is");
        Assert.Equal(-1, IndexOf(first, needle));
        Assert.Equal(-1, IndexOf(second, needle));
        Assert.NotEqual(first[14..26], second[14..26]);
        Assert.Equal(Secret, encrypted.Refresh<Vault>().Owner);
    }

    [Fact]
    public void Authenticate_LeavesThePlaintextReadable_ButBoundToItsTag()
    {
        using var backend = new InprocBackend();
        using var manager = new Manager(backend, Options(StateProtection.Authenticate(Key(11))));
        manager.Write(new Vault { Owner = "ada" });

        Assert.True(IndexOf(Stored(backend), "ada"u8.ToArray()) >= 0);
    }

    [Fact]
    public void AuthenticateManager_ReadsAStateEncryptedWithTheSameKey_SoAStoreCanMoveToEncryption()
    {
        using var backend = new InprocBackend();
        using var encrypting = new Manager(backend, Options(StateProtection.Encrypt(Key(12))));
        encrypting.Write(new Vault { Owner = "ada", Balance = 3 });
        using var authenticating = new Manager(backend, Options(StateProtection.Authenticate(Key(12))));

        Assert.Equal(3, authenticating.Read<Vault>().Balance);
    }

    [Fact]
    public void Unprotect_WhenTheKeyIdIsRightButTheTagWasMadeWithAnotherKey_Rejects()
    {
        var genuine = StateProtection.Authenticate(Key(13));
        var forger = StateProtection.Authenticate(Key(14));
        var forged = forger.Protect("TOSC\u0001\u0000\u00c0"u8.ToArray()).ToArray();
        Convert.FromHexString(genuine.KeyId).CopyTo(forged, 6); // claims the genuine key

        var e = Assert.Throws<ToscDataException>(() => genuine.Unprotect(forged));
        Assert.Contains("was it changed by someone without the key?", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unprotect_OfANewerEnvelopeVersion_SaysToUpgrade()
    {
        var protection = StateProtection.Authenticate(Key(15));
        var stored = protection.Protect("TOSC\u0001\u0000\u00c0"u8.ToArray()).ToArray();
        stored[4] = 9;

        var e = Assert.Throws<ToscDataException>(() => protection.Unprotect(stored));
        Assert.Contains("upgrade Tosc", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    public void Factories_WithAShortKey_ThrowNamingTheLength(int length)
    {
        var e = Assert.Throws<ArgumentException>(() => StateProtection.Authenticate(new byte[length]));
        Assert.Contains($"has {length}", e.Message, StringComparison.Ordinal);
        Assert.Contains("at least 32", e.Message, StringComparison.Ordinal);
        Assert.Equal("key", e.ParamName);

        var previous = Assert.Throws<ArgumentException>(() => StateProtection.Encrypt(Key(1), Key(2), new byte[length]));
        Assert.Contains("previous key #1", previous.Message, StringComparison.Ordinal);
        Assert.Equal("previousKeys", previous.ParamName);
    }

    [Fact]
    public void Factories_WithTheSameKeyTwice_Throw()
    {
        var e = Assert.Throws<ArgumentException>(() => StateProtection.Authenticate(Key(1), Key(2), Key(1)));
        Assert.Contains("same key is given twice", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => StateProtection.Authenticate(Key(1), [null!]));
    }

    [Fact]
    public void GenerateKey_ReturnsDistinctKeysOfTheMinimumLength()
    {
        var first = StateProtection.GenerateKey();
        var second = StateProtection.GenerateKey();

        Assert.Equal(StateProtection.MinKeyLength, first.Length);
        Assert.NotEqual(first, second);
        Assert.Matches("^[0-9a-f]{16}$", StateProtection.Encrypt(first).KeyId);
        Assert.True(StateProtection.Encrypt(first).Encrypts);
        Assert.False(StateProtection.Authenticate(first).Encrypts);
    }

    [Fact]
    public void KeyId_DoesNotDependOnTheMode_OrRevealTheKey()
    {
        var key = Key(16);
        var id = StateProtection.Authenticate(key).KeyId;

        Assert.Equal(id, StateProtection.Encrypt(key).KeyId);
        Assert.DoesNotContain(Convert.ToHexStringLower(key[..8]), id, StringComparison.Ordinal);
    }
}
