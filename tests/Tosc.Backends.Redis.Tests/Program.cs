namespace Tosc.Tests;

/// <summary>Entry point of the child processes the cross-process tests start (<c>dotnet exec Tosc.Backends.Redis.Tests.dll worker ...</c>).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (Tosc.Testing.ContractWorker.Run(args, RedisBackendContractTests.OpenWorkerStore) is { } contract)
            return contract;
        if (args.Length < 2 || args[0] != "worker")
        {
            Console.Error.WriteLine("usage: Tosc.Backends.Redis.Tests worker <mode> ...  (started by the cross-process tests)");
            return 2;
        }
        return Workers.Run(args[1], args[2..]);
    }
}
