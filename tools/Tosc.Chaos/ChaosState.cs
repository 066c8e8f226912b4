namespace Tosc.Chaos;

/// <summary>
/// The shared root every worker changes. Every committed transaction appends at least one token
/// ("transaction id/index") to <see cref="Appends"/>, so the list is also the commit log: it says which
/// transactions landed and in which order, and the checks replay them to predict every other member.
/// </summary>
public class ChaosState
{
    public virtual long Counter { get; set; }

    public virtual IList<string> Appends { get; set; } = new List<string>();

    public virtual IDictionary<string, string> Entries { get; set; } = new Dictionary<string, string>();

    public virtual ISet<string> Tags { get; set; } = new HashSet<string>();
}
