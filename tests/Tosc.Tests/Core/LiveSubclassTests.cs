using System.ComponentModel;
using System.Runtime.CompilerServices;
using Xunit;

namespace Tosc.Tests.Core;

/// <summary>
/// The subclasses Tosc generates for live user objects (issue 16's fast reads): what the class's constructor does, classes
/// that notify by themselves, generic and nested classes, and reads inside a transaction, which still count for conflicts.
/// </summary>
public sealed class LiveSubclassTests : IDisposable
{
    private readonly Store _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void AConstructorThatSetsAndReadsItsProperties_RunsOnTheBaseClass_AndItsValuesAreStored()
    {
        var a = _store.Open();
        a.Write(new Seeded());

        var seeded = a.Read<Seeded>();

        Assert.Equal((3, "3 items"), (seeded.Count, seeded.Label));
        seeded.Count = 4;
        var seen = _store.OpenQuiet().Read<Seeded>();
        Assert.Equal((4, "3 items"), (seen.Count, seen.Label));
    }

    [Fact]
    public void AStoredValue_IsKeptOnce_InTheClassesOwnField_NotBesideWhatTheConstructorPutThere()
    {
        var a = _store.Open();
        a.Write(new Inventory { Log = new DList<string> { "stored" } });

        var inventory = _store.OpenQuiet().Read<Inventory>();

        // A live object holds its values where a plain one does (memory and read speed of a plain object): the list the
        // constructor made is replaced there by the live one, not kept beside it.
        var backingField = typeof(Inventory).GetField("<Log>k__BackingField", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;
        Assert.Same(inventory.Log, backingField.GetValue(inventory));
        Assert.IsType<DList<string>>(inventory.Log);
        Assert.Equal(["stored"], inventory.Log);
    }

    [Fact]
    public async Task WideValues_ReadWhole_WhileAnotherThreadKeepsChangingThem()
    {
        var a = _store.Open();
        a.Write(new Wide());
        var wide = a.Read<Wide>();
        var first = new Wide.Pair(1, 1);
        var second = new Wide.Pair(-2, -2);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested && i < 20_000; i++)
                wide.Value = i % 2 == 0 ? first : second;
        });

        var torn = 0;
        while (!writer.IsCompleted)
        {
            var seen = wide.Value;
            if (seen.Left != seen.Right)
                torn++;
        }
        await writer;

        Assert.Equal(0, torn);
    }

    [Fact]
    public void AClassThatNotifiesByItself_KeepsItsOwnEvent_AndItsValuesAreStored()
    {
        var a = _store.Open();
        a.Write(new SelfNotifying { Name = "first" });
        var live = a.Read<SelfNotifying>();

        live.Name = "second";

        Assert.IsAssignableFrom<INotifyPropertyChanged>(live);
        Assert.Equal("second", _store.OpenQuiet().Read<SelfNotifying>().Name);
    }

    [Fact]
    public void GenericAndNestedClasses_AreTrackedLive()
    {
        var a = _store.Open();
        a.Write(new Holder<int> { Value = 1, Inner = new Outer.Nested { Text = "x" } });
        var live = a.Read<Holder<int>>();

        live.Value = 2;
        live.Inner!.Text = "y";

        var seen = _store.OpenQuiet().Read<Holder<int>>();
        Assert.Equal((2, "y"), (seen.Value, seen.Inner!.Text));
        Assert.True(a.IsLinked(live.Inner));
    }

    [Fact]
    public void SmallNumbersAndFlags_ReadBackExactly_WhateverTheirValue()
    {
        var a = _store.Open();
        int[] values = [int.MinValue, -129, -128, -1, 0, 1, 1023, 1024, int.MaxValue];
        a.Write(new DList<Scalars>());
        var list = a.Read<DList<Scalars>>();

        foreach (var value in values)
            list.Add(new Scalars { Int32 = value, Flag = value > 0 });

        var seen = _store.OpenQuiet().Read<DList<Scalars>>();
        Assert.Equal(values, seen.Select(s => s.Int32));
        Assert.Equal(values.Select(v => v > 0), seen.Select(s => s.Flag));
    }

    [Fact]
    public void APropertyReadInsideATransaction_StillMakesItConflict_WhenAnotherManagerChangesIt()
    {
        var a = _store.OpenQuiet();
        var b = _store.OpenQuiet();
        a.Write(new Seeded());
        var mine = a.Read<Seeded>();
        var theirs = b.Read<Seeded>();

        var error = Assert.Throws<TransactionConflictException>(() =>
        {
            using var tx = a.Transaction();
            var count = mine.Count;
            theirs.Count = 10;
            mine.Label = $"{count} items";
            tx.Commit();
        });

        Assert.Contains(error.ConflictingPaths, path => path.Contains("Count", StringComparison.Ordinal));
        Assert.Equal(("3 items", 10), (_store.OpenQuiet().Read<Seeded>().Label, b.Read<Seeded>().Count));
    }
}

public class Seeded
{
    public Seeded()
    {
        Count = 3;
        Label = $"{Count} items";
    }

    public virtual int Count { get; set; }

    public virtual string Label { get; set; }
}

public class SelfNotifying : INotifyPropertyChanged
{
    public event PropertyChangedEventHandler? PropertyChanged;

    public virtual string Name { get; set; } = "";

    protected void Raise([CallerMemberName] string name = "") => PropertyChanged?.Invoke(this, new PropertyChangedEventArgs(name));
}

public class Holder<T>
{
    public virtual T? Value { get; set; }

    public virtual Outer.Nested? Inner { get; set; }
}

public static class Outer
{
    public class Nested
    {
        public virtual string Text { get; set; } = "";
    }
}

public class Wide
{
    public virtual Pair Value { get; set; }

    public readonly record struct Pair(long Left, long Right);
}
