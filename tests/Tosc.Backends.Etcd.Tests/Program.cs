namespace Tosc.Tests;

/// <summary>
/// Entry point of the child processes the cross-process tests start: <c>contract-worker ...</c> for the shared contract
/// cases, <c>cluster-worker ...</c> for the leader-kill case (<see cref="ClusterWorker"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (Tosc.Testing.ContractWorker.Run(args, EtcdBackendContractTests.OpenWorkerStore) is { } contract)
            return contract;
        if (ClusterWorker.Run(args) is { } cluster)
            return cluster;
        Console.Error.WriteLine("usage: Tosc.Backends.Etcd.Tests contract-worker|cluster-worker ...  (started by the cross-process tests)");
        return 2;
    }
}
