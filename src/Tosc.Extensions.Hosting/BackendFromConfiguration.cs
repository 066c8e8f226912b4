using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Tosc.Extensions.Hosting;

/// <summary>
/// Builds the backend a configuration section names (<c>"Backend": "File"</c>) with the settings beside it.
/// </summary>
/// <remarks>
/// The hosting package references no backend package: a backend is looked up by name in the assemblies the
/// application references (<c>Tosc.Backends.File</c> for <c>File</c>...), so an app that stores in a file never
/// carries the Azure, Npgsql or Redis clients, and a backend package needs no dependency-injection code of its own.
/// Settings map onto the backend's public constructor parameters by name (<c>Path</c>, <c>Key</c>...), with
/// <c>ConnectionString</c> accepted for Redis's <c>configuration</c>; its <c>Options</c> section is bound onto the
/// backend's options class. The constructor that every present setting satisfies is used; a missing setting is
/// named in the error, as a configuration path. A backend of another package is named by its assembly-qualified type.
/// </remarks>
internal static class BackendFromConfiguration
{
    private static readonly Dictionary<string, string> KnownBackends = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Inproc"] = typeof(InprocBackend).AssemblyQualifiedName!,
        ["File"] = "Tosc.FileBackend, Tosc.Backends.File",
        ["Redis"] = "Tosc.RedisBackend, Tosc.Backends.Redis",
        ["Postgres"] = "Tosc.PostgresBackend, Tosc.Backends.Postgres",
        ["Blob"] = "Tosc.BlobBackend, Tosc.Backends.Blob",
        ["Etcd"] = "Tosc.EtcdBackend, Tosc.Backends.Etcd",
    };

    // Settings also accepted for a parameter, where the usual word differs from the parameter's name.
    private static readonly Dictionary<string, string[]> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["configuration"] = ["ConnectionString"],
    };

    private static string Names => string.Join(", ", KnownBackends.Keys);

    public static IBackend Create(IConfiguration section)
    {
        var path = section is IConfigurationSection s ? s.Path + ":" : "";
        var name = section["Backend"];
        if (string.IsNullOrWhiteSpace(name))
            throw new InvalidOperationException($"The Tosc setting '{path}Backend' is missing: set it to one of {Names}, or to a backend's assembly-qualified type name.");
        var type = FindType(name, path);
        var attempts = new List<string>();
        foreach (var constructor in type.GetConstructors().OrderByDescending(c => c.GetParameters().Length))
        {
            var arguments = Arguments(constructor, section, path, out var missing);
            if (arguments is null)
            {
                if (missing is not null)
                    attempts.Add(missing);
                continue;
            }
            return (IBackend)constructor.Invoke(BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null);
        }
        var needs = attempts.Count == 0 ? "no public constructor takes settings only" : string.Join("; or ", attempts.Distinct());
        throw new InvalidOperationException($"The Tosc backend '{name}' ({path}Backend) cannot be built from configuration: {needs}.");
    }

    private static Type FindType(string name, string path)
    {
        var known = KnownBackends.TryGetValue(name, out var typeName);
        Type? type;
        try
        {
            type = Type.GetType(known ? typeName! : name, throwOnError: false);
        }
        catch (Exception e) when (e is FileLoadException or BadImageFormatException or ArgumentException)
        {
            type = null;
        }
        if (type is null && known)
        {
            var package = typeName!.Split(", ")[1];
            throw new InvalidOperationException($"The Tosc backend '{name}' ({path}Backend) is in the package {package}, which this application does not reference: add it (dotnet add package {package}).");
        }
        if (type is null || !typeof(IBackend).IsAssignableFrom(type) || type.IsAbstract)
            throw new InvalidOperationException($"The Tosc setting '{path}Backend' is '{name}', which is no backend: use one of {Names}, or the assembly-qualified name of a class that implements {typeof(IBackend).FullName}.");
        return type;
    }

    /// <summary>The arguments for <paramref name="constructor"/>, or null with the settings it lacks (null when it cannot take settings at all).</summary>
    private static object?[]? Arguments(ConstructorInfo constructor, IConfiguration section, string path, out string? missing)
    {
        missing = null;
        var parameters = constructor.GetParameters();
        var arguments = new object?[parameters.Length];
        var lacking = new List<string>();
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = parameters[i];
            var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
            if (type.Name.EndsWith("Options", StringComparison.Ordinal) && type.IsClass && type.GetConstructor(Type.EmptyTypes) is not null)
            {
                var options = Activator.CreateInstance(type)!;
                section.GetSection("Options").Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
                arguments[i] = options;
                continue;
            }
            if (!IsSetting(type))
                return null;
            var (key, value) = Setting(section, parameter.Name!);
            if (value is not null)
                arguments[i] = Convert(value, type, path + key);
            else if (parameter.HasDefaultValue)
                arguments[i] = parameter.DefaultValue;
            else
                lacking.Add(path + key);
        }
        if (lacking.Count == 0)
            return arguments;
        missing = (lacking.Count == 1 ? "the setting " : "the settings ") + string.Join(", ", lacking.Select(k => $"'{k}'")) + (lacking.Count == 1 ? " is missing" : " are missing");
        return null;
    }

    private static bool IsSetting(Type type) => type == typeof(string) || type == typeof(Uri) || type.IsPrimitive || type.IsEnum || type == typeof(TimeSpan);

    private static (string Key, string? Value) Setting(IConfiguration section, string parameter)
    {
        var key = char.ToUpperInvariant(parameter[0]) + parameter[1..];
        if (section[key] is { Length: > 0 } value)
            return (key, value);
        foreach (var alias in Aliases.GetValueOrDefault(parameter, []))
        {
            if (section[alias] is { Length: > 0 } aliased)
                return (alias, aliased);
        }
        var aliases = Aliases.GetValueOrDefault(parameter, []);
        return (aliases.Length > 0 ? aliases[0] : key, null);
    }

    private static object Convert(string value, Type type, string key)
    {
        try
        {
            return type == typeof(string) ? value
                : type == typeof(Uri) ? new Uri(value, UriKind.Absolute)
                : TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value)!;
        }
        catch (Exception e) when (e is FormatException or UriFormatException or NotSupportedException or ArgumentException)
        {
            throw new InvalidOperationException($"The Tosc setting '{key}' is '{value}', which is not a valid {type.Name}.", e);
        }
    }
}
