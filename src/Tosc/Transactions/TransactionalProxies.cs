using System.Collections.Concurrent;
using System.Reflection;
using Castle.DynamicProxy;

namespace Tosc.Transactions;

/// <summary>Builds the proxies of <see cref="Manager.Transactional{T}(T)"/>.</summary>
internal static class TransactionalProxies
{
    private static readonly ProxyGenerator s_generator = new();

    public static T Create<T>(Manager manager, T target) where T : class
    {
        var interceptor = new TransactionalInterceptor(manager);
        if (typeof(T).IsInterface)
            return s_generator.CreateInterfaceProxyWithTarget(target, interceptor);
        if (typeof(T).GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes) is null)
            throw new ArgumentException($"Transactional<{typeof(T).Name}> needs an interface, or a class with a parameterless constructor whose [Transactional] methods are virtual.", nameof(target));
        return (T)s_generator.CreateClassProxyWithTarget(typeof(T), target, interceptor);
    }
}

/// <summary>Runs [Transactional] methods under Manager.Run/RunAsync; other methods pass straight through.</summary>
internal sealed class TransactionalInterceptor(Manager manager) : IInterceptor
{
    private static readonly ConcurrentDictionary<MethodInfo, Plan?> s_plans = new();
    private static readonly MethodInfo s_runTask = typeof(TransactionalInterceptor).GetMethod(nameof(RunTaskOf), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo s_runValueTask = typeof(TransactionalInterceptor).GetMethod(nameof(RunValueTaskOf), BindingFlags.NonPublic | BindingFlags.Static)!;

    private enum Shape
    {
        Sync,
        Task,
        TaskOf,
        ValueTask,
        ValueTaskOf,
    }

    public void Intercept(IInvocation invocation)
    {
        var plan = s_plans.GetOrAdd(invocation.MethodInvocationTarget ?? invocation.Method, static (target, method) => PlanFor(method, target), invocation.Method);
        if (plan is null)
        {
            invocation.Proceed();
            return;
        }
        switch (plan.Shape)
        {
            case Shape.Sync:
                invocation.ReturnValue = manager.Run(() =>
                {
                    invocation.Proceed();
                    return invocation.ReturnValue;
                }, plan.Retries, plan.Timeout);
                return;
            case Shape.Task:
            {
                var proceed = invocation.CaptureProceedInfo();
                invocation.ReturnValue = manager.RunAsync(() =>
                {
                    proceed.Invoke();
                    return (Task)invocation.ReturnValue!;
                }, plan.Retries, plan.Timeout);
                return;
            }
            case Shape.ValueTask:
            {
                var proceed = invocation.CaptureProceedInfo();
                invocation.ReturnValue = new ValueTask(manager.RunAsync(() =>
                {
                    proceed.Invoke();
                    return ((ValueTask)invocation.ReturnValue!).AsTask();
                }, plan.Retries, plan.Timeout));
                return;
            }
            default:
                invocation.ReturnValue = plan.RunGeneric!(manager, invocation, plan);
                return;
        }
    }

    private static Plan? PlanFor(MethodInfo method, MethodInfo target)
    {
        var attribute = method.GetCustomAttribute<TransactionalAttribute>()
            ?? target.GetCustomAttribute<TransactionalAttribute>()
            ?? method.DeclaringType?.GetCustomAttribute<TransactionalAttribute>()
            ?? target.DeclaringType?.GetCustomAttribute<TransactionalAttribute>();
        if (attribute is null)
            return null;
        var returns = method.ReturnType;
        var shape = returns == typeof(Task) ? Shape.Task
            : returns == typeof(ValueTask) ? Shape.ValueTask
            : returns.IsGenericType && returns.GetGenericTypeDefinition() == typeof(Task<>) ? Shape.TaskOf
            : returns.IsGenericType && returns.GetGenericTypeDefinition() == typeof(ValueTask<>) ? Shape.ValueTaskOf
            : Shape.Sync;
        Func<Manager, IInvocation, Plan, object>? generic = shape switch
        {
            Shape.TaskOf => s_runTask.MakeGenericMethod(returns.GetGenericArguments()).CreateDelegate<Func<Manager, IInvocation, Plan, object>>(),
            Shape.ValueTaskOf => s_runValueTask.MakeGenericMethod(returns.GetGenericArguments()).CreateDelegate<Func<Manager, IInvocation, Plan, object>>(),
            _ => null,
        };
        return new Plan(shape, attribute.Retries >= 0 ? attribute.Retries : null,
            attribute.TimeoutSeconds > 0 ? TimeSpan.FromSeconds(attribute.TimeoutSeconds) : null, generic);
    }

    private static object RunTaskOf<T>(Manager manager, IInvocation invocation, Plan plan)
    {
        var proceed = invocation.CaptureProceedInfo();
        return manager.RunAsync(() =>
        {
            proceed.Invoke();
            return (Task<T>)invocation.ReturnValue!;
        }, plan.Retries, plan.Timeout);
    }

    private static object RunValueTaskOf<T>(Manager manager, IInvocation invocation, Plan plan)
    {
        var proceed = invocation.CaptureProceedInfo();
        return new ValueTask<T>(manager.RunAsync(() =>
        {
            proceed.Invoke();
            return ((ValueTask<T>)invocation.ReturnValue!).AsTask();
        }, plan.Retries, plan.Timeout));
    }

    private sealed record Plan(Shape Shape, int? Retries, TimeSpan? Timeout, Func<Manager, IInvocation, Plan, object>? RunGeneric);
}
