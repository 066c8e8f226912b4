using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Tosc.Serialization;

namespace Tosc.Live;

internal enum ObjectKind
{
    /// <summary>A class Tosc tracks through a subclass of its own (<see cref="LiveProxies"/>): every property change is recorded.</summary>
    Live,

    /// <summary>Records, structs and init-only classes: immutable values, replaced whole.</summary>
    Value,

    /// <summary>Interfaces and abstract classes: only a declared type, the stored object names its real type.</summary>
    Abstract,
}

/// <summary>What Tosc knows about one user type: its kind, its stored properties, how to build it.</summary>
internal sealed class ObjectModel
{
    private static readonly ConcurrentDictionary<Type, ObjectModel> s_models = new();

    // Collections that change in place and have no read-only form of the same type (see CheckValue).
    private static readonly HashSet<Type> s_mutableDefinitions = [typeof(List<>), typeof(HashSet<>), typeof(Dictionary<,>), typeof(DList<>), typeof(DSet<>), typeof(DDict<,>)];

    private Func<ObjectNode, object>? _createProxy;
    private Func<object>? _createPlain;
    private ConstructorInfo? _valueConstructor;
    private int[] _constructorSlots = [];
    private bool? _holdsCollections;

    private ObjectModel(Type type)
    {
        Type = type;
        Name = TypeNames.Stable(type);
        NameBytes = Encoding.UTF8.GetBytes(Name);
        Kind = Classify(type);
        Properties = FindProperties(type, Kind);
        if (Kind == ObjectKind.Live)
            LiveError = CheckLive(type, Properties);
        if (Kind == ObjectKind.Value)
        {
            ValueError = CheckValue(type, Properties);
            PrepareValueConstruction();
        }
    }

    public Type Type { get; }

    public string Name { get; }

    public byte[] NameBytes { get; }

    public ObjectKind Kind { get; }

    public PropertyModel[] Properties { get; }

    /// <summary>Why the type cannot be tracked live (names the type and member), or null.</summary>
    public string? LiveError { get; }

    /// <summary>Why the immutable value type could change in place, which the store would never see (names the member), or null.</summary>
    public string? ValueError { get; }

    /// <summary>Whether an immutable value's members can hold collections or objects, which <see cref="ObjectWriting.Freeze"/> copies.</summary>
    public bool HoldsCollections => _holdsCollections ??= Properties.Any(p => p.Codec.Freezes);

    public static ObjectModel For(Type type) => s_models.GetOrAdd(type, static t => new ObjectModel(t));

    /// <summary>Classes, structs and interfaces of the application: neither built-in scalars nor collections.</summary>
    public static bool IsUserType(Type type) =>
        !type.IsPrimitive && !type.IsEnum && !type.IsArray && !type.IsPointer && !type.IsByRef && !type.ContainsGenericParameters
        && type != typeof(object) && type != typeof(string) && Nullable.GetUnderlyingType(type) is null
        && !typeof(Delegate).IsAssignableFrom(type) && !Codecs.IsBuiltIn(type) && !IsFrameworkType(type);

    // Streams, tasks, handles and the like are not data: only the application's own types are stored.
    private static bool IsFrameworkType(Type type) =>
        type.Namespace is { } ns && (ns == "System" || ns.StartsWith("System.", StringComparison.Ordinal) || ns == "Microsoft" || ns.StartsWith("Microsoft.", StringComparison.Ordinal) || ns.StartsWith("Castle.", StringComparison.Ordinal));

    /// <summary>The model of a proxy's real type, or of the value's own type.</summary>
    public static ObjectModel Of(object value) => LiveProxies.NodeOf(value) is { } node
        ? node.Model
        : For(value.GetType());

    public int IndexOf(ReadOnlySpan<byte> utf8Name, int hint)
    {
        if ((uint)hint < (uint)Properties.Length && Properties[hint].NameBytes.AsSpan().SequenceEqual(utf8Name))
            return hint;
        for (var i = 0; i < Properties.Length; i++)
        {
            if (Properties[i].NameBytes.AsSpan().SequenceEqual(utf8Name))
                return i;
        }
        return -1;
    }

    public object CreateProxy(ObjectNode node)
    {
        ThrowIfNotLive();
        _createProxy ??= LiveProxies.CreateFactory(this);
        return _createProxy(node);
    }

    public object CreatePlain()
    {
        _createPlain ??= CompilePlainFactory();
        return _createPlain();
    }

    /// <summary>Builds an immutable value from its property values (constructor first, then settable properties).</summary>
    public object CreateValue(object?[] values, bool[] present)
    {
        object instance;
        var used = new bool[Properties.Length];
        if (_valueConstructor is not null)
        {
            var arguments = new object?[_constructorSlots.Length];
            for (var i = 0; i < arguments.Length; i++)
            {
                var slot = _constructorSlots[i];
                arguments[i] = values[slot];
                used[slot] = true;
            }
            instance = _valueConstructor.Invoke(arguments);
        }
        else
        {
            instance = Type.IsValueType ? RuntimeHelpers.GetUninitializedObject(Type) : CreatePlain();
        }
        for (var i = 0; i < Properties.Length; i++)
        {
            if (!used[i] && present[i])
                Properties[i].SetOnPlain(instance, values[i]);
        }
        return instance;
    }

    public void ThrowIfNotLive()
    {
        if (LiveError is not null)
            throw new ArgumentException(LiveError);
        if (Kind != ObjectKind.Live)
            throw new ArgumentException($"{TypeNames.Display(Type)} is not a class Tosc can track live.");
    }

    private static ObjectKind Classify(Type type)
    {
        if (type.IsInterface || type.IsAbstract)
            return ObjectKind.Abstract;
        if (type.IsValueType || type.GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance) is not null)
            return ObjectKind.Value;
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        if (properties.Any(p => p.GetIndexParameters().Length == 0 && IsInitOnly(p)))
            return ObjectKind.Value;
        var hasDefaultConstructor = type.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes) is { IsPrivate: false };
        var hasSetters = properties.Any(p => p.SetMethod is { IsPublic: true });
        if (!hasDefaultConstructor && !hasSetters)
            return ObjectKind.Value;
        return ObjectKind.Live;
    }

    private static bool IsInitOnly(PropertyInfo property) =>
        property.SetMethod?.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit)) == true;

    private static PropertyModel[] FindProperties(Type type, ObjectKind kind)
    {
        var result = new List<PropertyModel>();
        var constructorNames = kind == ObjectKind.Value
            ? type.GetConstructors().SelectMany(c => c.GetParameters()).Select(p => p.Name ?? "").ToHashSet(StringComparer.OrdinalIgnoreCase)
            : [];
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true } || property.IsDefined(typeof(ToscIgnoreAttribute)))
                continue;
            var backingField = FindBackingField(property);
            var stored = kind switch
            {
                ObjectKind.Value => property.SetMethod is not null || constructorNames.Contains(property.Name) || backingField is not null,
                _ => property.SetMethod is { IsPublic: true } || backingField is not null,
            };
            if (stored)
                result.Add(new PropertyModel(property, result.Count, backingField));
        }
        return [.. result];
    }

    private static FieldInfo? FindBackingField(PropertyInfo property)
    {
        for (var type = property.DeclaringType; type is not null; type = type.BaseType)
        {
            var field = type.GetField($"<{property.Name}>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);
            if (field is not null)
                return field;
        }
        return null;
    }

    private static string? CheckLive(Type type, PropertyModel[] properties)
    {
        var name = TypeNames.Display(type);
        if (type.IsSealed)
            return $"Tosc cannot track {name}: the class is sealed. Unseal it, or make it a record to store it as an immutable value.";
        if (!type.IsVisible)
            return $"Tosc cannot track {name}: the class must be public (Tosc subclasses it).";
        if (type.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes) is not { IsPrivate: false, IsAssembly: false })
            return $"Tosc cannot track {name}: it needs a public or protected parameterless constructor.";
        foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!field.IsDefined(typeof(ToscIgnoreAttribute)))
                return $"Tosc cannot track {name}.{field.Name}: it is a public field, which a live object cannot watch. Make it a property (public virtual {TypeNames.Display(field.FieldType)} {field.Name} {{ get; set; }}), or mark it [ToscIgnore] to keep it out of the store.";
        }
        foreach (var property in properties)
        {
            var info = property.Info;
            var member = $"{name}.{info.Name}";
            var autoProperty = $"public virtual {TypeNames.Display(info.PropertyType)} {info.Name} {{ get; set; }}";
            if (info.GetMethod is not { IsVirtual: true, IsFinal: false })
                return $"Tosc cannot track {member}: the property must be virtual ({autoProperty}), or marked [ToscIgnore].";
            if (info.SetMethod is { IsPublic: false })
                return $"Tosc cannot track {member}: its setter is not public, so setting it from inside the class would bypass the live object and be lost. Make it {autoProperty}, or mark it [ToscIgnore].";
            if (info.SetMethod is { IsPublic: true } && info.SetMethod is not { IsVirtual: true, IsFinal: false })
                return $"Tosc cannot track {member}: its setter must be virtual too.";
            if (info.SetMethod is not null && property.BackingField is null)
                return $"Tosc cannot track {member}: it has accessor code (it is not an auto-property). A live object keeps the value itself and never runs accessors, so validation or normalization in them would be bypassed. " +
                       $"Make it {autoProperty} and validate in a method, or mark it [ToscIgnore].";
            var declared = info.PropertyType;
            if (declared.IsGenericType)
            {
                var definition = declared.GetGenericTypeDefinition();
                if (definition == typeof(List<>) || definition == typeof(Dictionary<,>) || definition == typeof(HashSet<>))
                {
                    var suggestion = definition == typeof(List<>) ? "IList" : definition == typeof(HashSet<>) ? "ISet" : "IDictionary";
                    return $"Tosc cannot track {member}: declare it as {suggestion}<{string.Join(", ", declared.GetGenericArguments().Select(TypeNames.Display))}> (an interface) so a live collection can stand there.";
                }
            }
        }
        return null;
    }

    // A record, struct or init-only class is stored as an immutable value and replaced whole: Tosc records no change
    // inside it. So nothing inside one may change in place, or the change would show in this process and never be
    // stored. Collections declared as interfaces are made read-only (a change throws NotSupportedException, as .NET's
    // own read-only collections do); a concrete List, Dictionary, HashSet, array or Tosc live collection cannot be, so it
    // is refused here with the declaration to use instead, which is stored the same way (stores written before stay
    // readable once the declaration changes). A public setter on a class value is refused too: structs are copied
    // whenever they are read, so setting one of their properties never looks stored.
    private static string? CheckValue(Type type, PropertyModel[] properties)
    {
        var name = TypeNames.Display(type);
        foreach (var property in properties)
        {
            var info = property.Info;
            var member = $"{name}.{info.Name}";
            if (!type.IsValueType && info.SetMethod is { IsPublic: true } && !IsInitOnly(info))
                return $"Tosc stores {name} as an immutable value (replaced whole), but {member} has a public setter: setting it on a stored {name} would change only this process's copy, never the store. " +
                       $"Make it {{ get; init; }} and assign a new {name} (a `with` expression) to change it.";
            if (ChangesInPlace(property.Type))
                return $"Tosc cannot store {member} inside the immutable value {name}: {TypeNames.Display(property.Type)} can be changed in place, and such a change would show in this process but never be stored. " +
                       $"Declare it as {ReadOnlyForm(property.Type)} (stored the same way, so stores written before stay readable) and assign a new {name} to change it.";
        }
        return null;
    }

    /// <summary>
    /// Whether a member type, or a type it holds, is a collection that can change in place and cannot be made read-only.
    /// The application's own types are checked by their own models.
    /// </summary>
    private static bool ChangesInPlace(Type type) =>
        type.IsArray || type == typeof(DByteArray) || type == typeof(DCounter) || (type.IsGenericType && s_mutableDefinitions.Contains(type.GetGenericTypeDefinition()))
        || (type.IsGenericType && !IsUserType(type) && type.GetGenericArguments().Any(ChangesInPlace));

    /// <summary>The type to declare instead: each mutable collection replaced by the read-only form stored the same way.</summary>
    private static string ReadOnlyForm(Type type)
    {
        if (type == typeof(DByteArray))
            return "IReadOnlyList<byte>";
        if (type == typeof(DCounter))
            return "long";
        if (type.IsArray)
            return $"ImmutableArray<{ReadOnlyForm(type.GetElementType()!)}>";
        if (Nullable.GetUnderlyingType(type) is { } underlying)
            return ReadOnlyForm(underlying) + "?";
        if (!type.IsGenericType)
            return TypeNames.Display(type);
        var arguments = string.Join(", ", type.GetGenericArguments().Select(ReadOnlyForm));
        var definition = type.GetGenericTypeDefinition();
        if (definition == typeof(List<>) || definition == typeof(DList<>))
            return $"IReadOnlyList<{arguments}>";
        if (definition == typeof(HashSet<>) || definition == typeof(DSet<>))
            return $"IReadOnlySet<{arguments}>";
        if (definition == typeof(Dictionary<,>) || definition == typeof(DDict<,>))
            return $"IReadOnlyDictionary<{arguments}>";
        var display = TypeNames.Display(definition);
        var tick = display.IndexOf('<', StringComparison.Ordinal);
        return $"{(tick < 0 ? display : display[..tick])}<{arguments}>";
    }

    private void PrepareValueConstruction()
    {
        ConstructorInfo? best = null;
        int[] bestSlots = [];
        foreach (var constructor in Type.GetConstructors())
        {
            var parameters = constructor.GetParameters();
            var slots = new int[parameters.Length];
            var matches = true;
            for (var i = 0; i < parameters.Length && matches; i++)
            {
                var slot = Array.FindIndex(Properties, p => string.Equals(p.Name, parameters[i].Name, StringComparison.OrdinalIgnoreCase));
                matches = slot >= 0 && parameters[i].ParameterType.IsAssignableFrom(Properties[slot].Type);
                slots[i] = slot;
            }
            if (matches && (best is null || parameters.Length > bestSlots.Length))
            {
                best = constructor;
                bestSlots = slots;
            }
        }
        _valueConstructor = best is { } chosen && (chosen.GetParameters().Length > 0 || !Type.IsValueType) ? chosen : null;
        _constructorSlots = _valueConstructor is null ? [] : bestSlots;
    }

    private Func<object> CompilePlainFactory()
    {
        var constructor = Type.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes);
        if (constructor is null)
        {
            if (Type.IsValueType)
                return () => RuntimeHelpers.GetUninitializedObject(Type);
            throw new ToscDataException($"{TypeNames.Display(Type)} has no parameterless constructor to build it from stored data.");
        }
        return Expression.Lambda<Func<object>>(Expression.Convert(Expression.New(constructor), typeof(object))).Compile();
    }
}

/// <summary>One stored property of a user type.</summary>
internal sealed class PropertyModel
{
    private readonly Func<object, object?> _get;
    private readonly FieldInfo? _backingField;
    private IValueCodec? _codec;
    private Func<object, object?>? _getStored;
    private Action<object, object?>? _putStored;

    public PropertyModel(PropertyInfo info, int index, FieldInfo? backingField)
    {
        Info = info;
        Index = index;
        Name = info.Name;
        NameBytes = Encoding.UTF8.GetBytes(info.Name);
        Type = info.PropertyType;
        _backingField = backingField;
        DefaultValue = Type.IsValueType && Nullable.GetUnderlyingType(Type) is null ? RuntimeHelpers.GetUninitializedObject(Type) : null;
        var instance = Expression.Parameter(typeof(object));
        var typed = info.DeclaringType!.IsValueType ? Expression.Unbox(instance, info.DeclaringType) : (Expression)Expression.Convert(instance, info.DeclaringType);
        _get = Expression.Lambda<Func<object, object?>>(Expression.Convert(Expression.Property(typed, info), typeof(object)), instance).Compile();
    }

    public PropertyInfo Info { get; }

    public int Index { get; }

    public string Name { get; }

    public byte[] NameBytes { get; }

    public Type Type { get; }

    /// <summary>The compiler's field behind an auto-property; <see langword="null"/> when the property has accessor code.</summary>
    public FieldInfo? BackingField => _backingField;

    /// <summary>The boxed default of the property's type: value-type slots never hold null.</summary>
    public object? DefaultValue { get; }

    // Resolved on first use: a type may contain itself (a tree of nodes).
    public IValueCodec Codec => _codec ??= Codecs.For(Type);

    /// <summary>
    /// Whether a read of the property's backing field can never see a value half written: references and values of at
    /// most one machine word. Wider ones (decimal, Guid, structs) are read under the manager's gate.
    /// </summary>
    public bool ReadsWhole => !Type.IsValueType || Type.IsPrimitive || Type.IsEnum || Type == typeof(DateTime) || Type == typeof(TimeSpan);

    /// <summary>A live object's stored value, from the backing field (no getter runs), boxed.</summary>
    public object? GetStored(object instance) => (_getStored ??= FieldAccess.Getter(BackingField!))(instance);

    /// <summary>Puts a live object's stored value in the backing field (no setter runs).</summary>
    public void PutStored(object instance, object? value) => (_putStored ??= FieldAccess.Setter(BackingField!))(instance, value);

    /// <summary>Reads through the public getter (on a proxy under construction this reaches the base class).</summary>
    public object? GetFromPlain(object instance) => _get(instance);

    /// <summary>The value the class's own constructor left in the backing field, for properties missing from the store.</summary>
    public object? InitialValue(object instance) => _backingField is not null ? _backingField.GetValue(instance) : DefaultValue;

    public void SetOnPlain(object instance, object? value)
    {
        if (Info.SetMethod is not null)
            Info.SetValue(instance, value);
        else
            _backingField?.SetValue(instance, value);
    }
}

/// <summary>
/// Reads and writes a backing field directly, through a small method emitted once per field: it may be private to the
/// class and read-only (a get-only auto-property), which compiled expressions cannot assign.
/// </summary>
internal static class FieldAccess
{
    public static Func<object, object?> Getter(FieldInfo field)
    {
        var method = new System.Reflection.Emit.DynamicMethod($"get_{field.Name}", typeof(object), [typeof(object)], field.Module, skipVisibility: true);
        var il = method.GetILGenerator();
        il.Emit(System.Reflection.Emit.OpCodes.Ldarg_0);
        il.Emit(System.Reflection.Emit.OpCodes.Castclass, field.DeclaringType!);
        il.Emit(System.Reflection.Emit.OpCodes.Ldfld, field);
        if (field.FieldType.IsValueType)
            il.Emit(System.Reflection.Emit.OpCodes.Box, field.FieldType);
        il.Emit(System.Reflection.Emit.OpCodes.Ret);
        return method.CreateDelegate<Func<object, object?>>();
    }

    public static Action<object, object?> Setter(FieldInfo field)
    {
        var method = new System.Reflection.Emit.DynamicMethod($"set_{field.Name}", typeof(void), [typeof(object), typeof(object)], field.Module, skipVisibility: true);
        var il = method.GetILGenerator();
        il.Emit(System.Reflection.Emit.OpCodes.Ldarg_0);
        il.Emit(System.Reflection.Emit.OpCodes.Castclass, field.DeclaringType!);
        il.Emit(System.Reflection.Emit.OpCodes.Ldarg_1);
        il.Emit(System.Reflection.Emit.OpCodes.Unbox_Any, field.FieldType);
        il.Emit(System.Reflection.Emit.OpCodes.Stfld, field);
        il.Emit(System.Reflection.Emit.OpCodes.Ret);
        return method.CreateDelegate<Action<object, object?>>();
    }
}
