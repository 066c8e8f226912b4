namespace Tosc;

/// <summary>Gives a class, record, struct or enum the name it is stored under, so it can be renamed or moved without breaking stores.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Enum | AttributeTargets.Interface, Inherited = false)]
public sealed class ToscTypeAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public ToscTypeAttribute(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The stored name.</summary>
    public string Name { get; }
}

/// <summary>
/// Allows a derived type to be read where this base type or interface is declared. Stored type names are only
/// ever resolved to types that are reachable from the root type, registered here, or in <see cref="ManagerOptions.KnownTypes"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Interface, AllowMultiple = true, Inherited = false)]
public sealed class ToscKnownTypeAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public ToscKnownTypeAttribute(Type type) => Type = type ?? throw new ArgumentNullException(nameof(type));

    /// <summary>The allowed type.</summary>
    public Type Type { get; }
}

/// <summary>Leaves a property out of the stored state; it keeps plain .NET behavior and is not shared.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ToscIgnoreAttribute : Attribute
{
}
