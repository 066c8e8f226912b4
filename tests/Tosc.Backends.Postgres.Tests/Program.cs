namespace Tosc.Tests;

/// <summary>Entry point of the child processes the cross-process contract cases start (<c>dotnet exec Tosc.Backends.Postgres.Tests.dll contract-worker ...</c>).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (Tosc.Testing.ContractWorker.Run(args, PostgresBackendContractTests.OpenWorkerStore) is { } contract)
            return contract;
        Console.Error.WriteLine("usage: Tosc.Backends.Postgres.Tests contract-worker ...  (started by the cross-process tests)");
        return 2;
    }
}
