using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using Tosc.Live;

namespace Tosc.Serialization;

/// <summary>Stable names for stored types: never assembly-qualified, never resolved with Type.GetType.</summary>
internal static class TypeNames
{
    private static readonly ConcurrentDictionary<Type, string> s_stable = new();

    /// <summary>The name written to the store: <see cref="ToscTypeAttribute.Name"/>, else the full name without assembly details.</summary>
    public static string Stable(Type type) => s_stable.GetOrAdd(type, static t =>
        t.GetCustomAttribute<ToscTypeAttribute>(inherit: false)?.Name ?? Format(t, new StringBuilder()).ToString());

    /// <summary>A readable C#-like name for messages.</summary>
    public static string Display(Type type)
    {
        if (!type.IsGenericType)
            return type.FullName ?? type.Name;
        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick >= 0)
            name = name[..tick];
        return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(Display))}>";
    }

    private static StringBuilder Format(Type type, StringBuilder builder)
    {
        if (type.IsArray)
            return Format(type.GetElementType()!, builder).Append("[]");
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        builder.Append(definition.FullName ?? definition.Name);
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            builder.Append('[');
            var first = true;
            foreach (var argument in type.GetGenericArguments())
            {
                if (!first)
                    builder.Append(',');
                first = false;
                Format(argument, builder);
            }
            builder.Append(']');
        }
        return builder;
    }
}

/// <summary>
/// The types one manager may instantiate from stored names: those reachable from the root type and the
/// values it wrote, plus <see cref="ManagerOptions.KnownTypes"/>. Everything else is refused.
/// </summary>
internal sealed class TypeRegistry
{
    private readonly ConcurrentDictionary<string, Type> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, bool> _walked = new();

    public void Register(Type type)
    {
        if (!_walked.TryAdd(type, true))
            return;
        if (type.IsArray)
        {
            Register(type.GetElementType()!);
            return;
        }
        if (type.IsGenericType)
        {
            foreach (var argument in type.GetGenericArguments())
                Register(argument);
        }
        if (type.IsEnum)
        {
            Add(type);
            return;
        }
        if (!ObjectModel.IsUserType(type))
            return;
        Add(type);
        foreach (var known in type.GetCustomAttributes<ToscKnownTypeAttribute>(inherit: true))
            Register(known.Type);
        var model = ObjectModel.For(type);
        foreach (var property in model.Properties)
            Register(property.Type);
    }

    /// <summary>Whether a reader with this registry decodes values of <paramref name="type"/> (it was reached, or it opted in with [ToscType]).</summary>
    public bool Allows(Type type) => _walked.ContainsKey(type) || type.IsDefined(typeof(ToscTypeAttribute), inherit: false);

    public Type Resolve(string name, int offset)
    {
        if (_byName.TryGetValue(name, out var type))
            return type;
        if (ToscTypes.Find(name, offset) is { } marked)
        {
            // Opted in by [ToscType]: allowed wherever it is met, e.g. by an untyped Read on a fresh manager.
            Register(marked);
            return marked;
        }
        throw new ToscDataException($"The stored value names type '{name}' (offset {offset}), which this manager does not allow: it is not reachable from the root type. Register it in ManagerOptions.KnownTypes or with [ToscKnownType] on its base type.");
    }

    private void Add(Type type)
    {
        var name = TypeNames.Stable(type);
        if (!_byName.TryAdd(name, type) && _byName[name] != type)
            throw new InvalidOperationException($"Two types share the stored name '{name}': {_byName[name].AssemblyQualifiedName} and {type.AssemblyQualifiedName}. Give one a [ToscType(\"...\")] name.");
    }
}

/// <summary>
/// The classes marked [ToscType] in the loaded assemblies, by stored name: the explicit opt-in that lets any manager
/// instantiate them. Assemblies are scanned once, when a name is first missed after they were loaded.
/// </summary>
internal static class ToscTypes
{
    private static readonly Lock s_gate = new();
    private static readonly Dictionary<string, List<Type>> s_byName = new(StringComparer.Ordinal);
    private static readonly HashSet<Assembly> s_scanned = [];

    public static Type? Find(string name, int offset)
    {
        lock (s_gate)
        {
            if (!s_byName.ContainsKey(name))
                ScanNewAssemblies();
            if (!s_byName.TryGetValue(name, out var types))
                return null;
            if (types.Count > 1)
                throw new ToscDataException($"The stored value names type '{name}' (offset {offset}), which {types.Count} classes claim with [ToscType] ({string.Join(", ", types.Select(t => t.FullName))}); register the one to use in ManagerOptions.KnownTypes.");
            return types[0];
        }
    }

    private static void ScanNewAssemblies()
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (assembly.IsDynamic || !s_scanned.Add(assembly) || IsFramework(assembly))
                continue;
            Type?[] types;
            try
            {
                types = assembly.GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                types = e.Types;
            }
            foreach (var type in types)
            {
                if (type?.GetCustomAttribute<ToscTypeAttribute>(inherit: false) is { } marked)
                {
                    if (!s_byName.TryGetValue(marked.Name, out var list))
                        s_byName[marked.Name] = list = [];
                    list.Add(type);
                }
            }
        }
    }

    private static bool IsFramework(Assembly assembly) =>
        assembly.GetName().Name is { } name && (name.StartsWith("System", StringComparison.Ordinal) || name.StartsWith("Microsoft", StringComparison.Ordinal)
            || name == "mscorlib" || name == "netstandard" || name.StartsWith("Castle", StringComparison.Ordinal) || name.StartsWith("xunit", StringComparison.Ordinal));
}
