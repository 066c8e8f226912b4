namespace Tosc.Testing;

/// <summary>The shared value of the manager-level contract cases: a counter and a journal of who added what.</summary>
public class ContractCounter
{
    /// <summary>The count.</summary>
    public virtual int Value { get; set; }

    /// <summary>One entry per increment, naming the incrementer, so a lost or doubled increment is visible.</summary>
    public virtual IList<string> Journal { get; set; } = new List<string>();

    /// <summary>Keys written by workers that each own their keys (no two write the same one).</summary>
    public virtual IDictionary<string, int> ByWorker { get; set; } = new Dictionary<string, int>();
}
