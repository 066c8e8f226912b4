namespace Tosc;

/// <summary>
/// Marks a method (or every method of an interface or class) to run as a retried transaction when called
/// through <see cref="Manager.Transactional{T}(T)"/>. Async methods (Task, Task&lt;T&gt;, ValueTask,
/// ValueTask&lt;T&gt;) are retried asynchronously.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Interface | AttributeTargets.Class, Inherited = true)]
public sealed class TransactionalAttribute : Attribute
{
    /// <summary>Reruns allowed after a conflict.</summary>
    /// <value>The default is -1: use <see cref="ManagerOptions.Retries"/>.</value>
    public int Retries { get; set; } = -1;

    /// <summary>The deadline for all attempts, in seconds.</summary>
    /// <value>The default is 0: use <see cref="ManagerOptions.Timeout"/>.</value>
    public double TimeoutSeconds { get; set; }
}
