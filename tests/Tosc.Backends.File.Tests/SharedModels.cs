namespace Tosc.Tests.Files;

/// <summary>A live counter shared by the cross-process Manager tests.</summary>
public class SharedCounter
{
    public virtual int Value { get; set; }
}

/// <summary>Settings shared between processes, as in the ConfigShare sample.</summary>
public class SharedSettings
{
    public virtual string Theme { get; set; } = "light";

    public virtual IDictionary<string, string> Values { get; set; } = new Dictionary<string, string>();
}
