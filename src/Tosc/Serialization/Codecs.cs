using System.Collections.Concurrent;
using Tosc.Live;

namespace Tosc.Serialization;

/// <summary>Finds the codec for a declared type: one instance per type, built on first use.</summary>
internal static class Codecs
{
    private static readonly ConcurrentDictionary<Type, IValueCodec> s_byType = new();

    private static readonly HashSet<Type> s_builtIn =
    [
        typeof(bool), typeof(string), typeof(double), typeof(float), typeof(decimal), typeof(char),
        typeof(sbyte), typeof(byte), typeof(short), typeof(ushort), typeof(int), typeof(uint), typeof(long), typeof(ulong),
        typeof(DateTime), typeof(DateTimeOffset), typeof(TimeSpan), typeof(Guid), typeof(byte[]), typeof(DByteArray), typeof(DCounter),
    ];

    public static ValueCodec<T> Get<T>() => Cache<T>.Instance;

    public static IValueCodec For(Type type) => s_byType.GetOrAdd(type, static t =>
        (IValueCodec)typeof(Cache<>).MakeGenericType(t).GetField(nameof(Cache<int>.Instance))!.GetValue(null)!);

    /// <summary>
    /// The codec for a value held as object, by its runtime type. The read-only wrappers Tosc itself hands out for
    /// collections inside values (ReadOnlyCollection, ReadOnlyDictionary, ReadOnlySet) are written through their
    /// read-only interfaces, so whatever Tosc reads it can write back.
    /// </summary>
    public static IValueCodec ForValue(object value)
    {
        var type = LiveProxies.TypeOf(value);
        if (type.IsGenericType)
        {
            var definition = type.GetGenericTypeDefinition();
            if (definition == typeof(System.Collections.ObjectModel.ReadOnlyCollection<>))
                return For(typeof(IReadOnlyList<>).MakeGenericType(type.GetGenericArguments()));
            if (definition == typeof(System.Collections.ObjectModel.ReadOnlyDictionary<,>))
                return For(typeof(IReadOnlyDictionary<,>).MakeGenericType(type.GetGenericArguments()));
            if (definition == typeof(System.Collections.ObjectModel.ReadOnlySet<>))
                return For(typeof(IReadOnlySet<>).MakeGenericType(type.GetGenericArguments()));
        }
        return For(type);
    }

    /// <summary>Types with a codec of their own: scalars and Tosc's collections, never user types.</summary>
    public static bool IsBuiltIn(Type type) =>
        s_builtIn.Contains(type) || CollectionShape(type) is not null;

    /// <summary>The declared type a live root of this runtime type is read back as (List&lt;T&gt; becomes IList&lt;T&gt;...).</summary>
    public static Type LiveRootType(Type runtime)
    {
        if (runtime.IsGenericType)
        {
            var definition = runtime.GetGenericTypeDefinition();
            var arguments = runtime.GetGenericArguments();
            if (definition == typeof(List<>))
                return typeof(IList<>).MakeGenericType(arguments);
            if (definition == typeof(Dictionary<,>))
                return typeof(IDictionary<,>).MakeGenericType(arguments);
            if (definition == typeof(HashSet<>))
                return typeof(ISet<>).MakeGenericType(arguments);
        }
        return typeof(ILiveProxy).IsAssignableFrom(runtime) ? runtime.BaseType! : runtime;
    }

    private static object Create(Type type)
    {
        if (type == typeof(object))
            return new DynamicCodec();
        if (type == typeof(bool))
            return new BooleanCodec();
        if (type == typeof(string))
            return new StringCodec();
        if (type == typeof(double))
            return new DoubleCodec();
        if (type == typeof(float))
            return new SingleCodec();
        if (type == typeof(decimal))
            return new DecimalCodec();
        if (type == typeof(char))
            return new CharCodec();
        if (type == typeof(DateTime))
            return new DateTimeCodec();
        if (type == typeof(DateTimeOffset))
            return new DateTimeOffsetCodec();
        if (type == typeof(TimeSpan))
            return new TimeSpanCodec();
        if (type == typeof(Guid))
            return new GuidCodec();
        if (type == typeof(DCounter))
            return new CounterCodec();
        if (type == typeof(byte[]))
            return new ByteArrayCodec();
        if (Integer(type) is { } integer)
            return integer;
        if (type.IsEnum)
            return Activator.CreateInstance(typeof(EnumCodec<>).MakeGenericType(type))!;
        if (Nullable.GetUnderlyingType(type) is { } underlying)
            return Activator.CreateInstance(typeof(NullableCodec<>).MakeGenericType(underlying))!;
        if (type.IsArray && type.GetArrayRank() == 1)
            return Activator.CreateInstance(typeof(ArrayCodec<>).MakeGenericType(type.GetElementType()!))!;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(System.Collections.Immutable.ImmutableArray<>))
            return Activator.CreateInstance(typeof(ImmutableArrayCodec<>).MakeGenericType(type.GetGenericArguments()))!;
        switch (CollectionShape(type))
        {
            case (Shape.Bytes, _):
                return Activator.CreateInstance(typeof(BytesNodeCodec<>).MakeGenericType(type))!;
            case (Shape.List, var arguments):
                return Activator.CreateInstance(typeof(ListCodec<,>).MakeGenericType(type, arguments[0]))!;
            case (Shape.Set, var arguments):
                return Activator.CreateInstance(typeof(SetCodec<,>).MakeGenericType(type, arguments[0]))!;
            case (Shape.Dictionary, var arguments):
                return Activator.CreateInstance(typeof(DictCodec<,,>).MakeGenericType(type, arguments[0], arguments[1]))!;
        }
        if (ObjectModel.IsUserType(type))
            return Activator.CreateInstance(typeof(ObjectCodec<>).MakeGenericType(type))!;
        return Activator.CreateInstance(typeof(UnsupportedCodec<>).MakeGenericType(type))!;
    }

    private enum Shape
    {
        Bytes,
        List,
        Set,
        Dictionary,
    }

    private static (Shape, Type[])? CollectionShape(Type type)
    {
        if (type == typeof(DByteArray))
            return (Shape.Bytes, []);
        if (!type.IsGenericType)
            return null;
        var definition = type.GetGenericTypeDefinition();
        var arguments = type.GetGenericArguments();
        if (arguments.Length == 1 && arguments[0] == typeof(byte)
            && (definition == typeof(IList<>) || definition == typeof(ICollection<>) || definition == typeof(IEnumerable<>)
                || definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>) || definition == typeof(List<>)))
            return (Shape.Bytes, arguments);
        if (definition == typeof(DList<>) || definition == typeof(IList<>) || definition == typeof(ICollection<>) || definition == typeof(IEnumerable<>)
            || definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>) || definition == typeof(List<>))
            return (Shape.List, arguments);
        if (definition == typeof(DSet<>) || definition == typeof(ISet<>) || definition == typeof(IReadOnlySet<>) || definition == typeof(HashSet<>))
            return (Shape.Set, arguments);
        if (definition == typeof(DDict<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>) || definition == typeof(Dictionary<,>))
            return (Shape.Dictionary, arguments);
        return null;
    }

    private static object? Integer(Type type) => Type.GetTypeCode(type) switch
    {
        _ when type.IsEnum => null,
        TypeCode.SByte => new IntegerCodec<sbyte>(v => v, v => (sbyte)v, sbyte.MinValue, (ulong)sbyte.MaxValue),
        TypeCode.Byte => new IntegerCodec<byte>(v => v, v => (byte)v, byte.MinValue, byte.MaxValue),
        TypeCode.Int16 => new IntegerCodec<short>(v => v, v => (short)v, short.MinValue, (ulong)short.MaxValue),
        TypeCode.UInt16 => new IntegerCodec<ushort>(v => v, v => (ushort)v, ushort.MinValue, ushort.MaxValue),
        TypeCode.Int32 => new IntegerCodec<int>(v => v, v => (int)v, int.MinValue, int.MaxValue),
        TypeCode.UInt32 => new IntegerCodec<uint>(v => v, v => (uint)v, uint.MinValue, uint.MaxValue),
        TypeCode.Int64 => new IntegerCodec<long>(v => v, v => v, long.MinValue, long.MaxValue),
        TypeCode.UInt64 => new IntegerCodec<ulong>(null, v => (ulong)v, 0, ulong.MaxValue),
        _ => null,
    };

    private static class Cache<T>
    {
        public static readonly ValueCodec<T> Instance = (ValueCodec<T>)Create(typeof(T));
    }
}

/// <summary>A type Tosc cannot store; fails when used, naming the type.</summary>
internal sealed class UnsupportedCodec<T> : ValueCodec<T>
{
    private static string Message => $"Tosc cannot store values of type {TypeNames.Display(typeof(T))}.";

    public override void Write(ref GraphWriter writer, T value)
    {
        if (value is null)
            writer.Msg.WriteNil();
        else
            throw new ArgumentException(Message);
    }

    public override T Read(ref GraphReader reader) =>
        reader.Msg.TryReadNil() ? default! : throw new ToscDataException(Message);

    public override T ToLive(T value, Manager owner) => value is null ? value : throw new ArgumentException(Message);
}
