namespace Tosc.Tests.Blob;

/// <summary>
/// The child-process side of the cross-process tests: <c>dotnet Tosc.Backends.Blob.Tests.dll worker &lt;command&gt; ...</c>.
/// The test runner never calls this (it loads the assembly as a library).
/// </summary>
public static class Program
{
    /// <summary>Runs one worker command and returns its exit code.</summary>
    public static int Main(string[] args)
    {
        if (Tosc.Testing.ContractWorker.Run(args, BlobBackendContractTests.OpenWorkerStore) is { } contract)
            return contract;
        if (args.Length < 2 || args[0] != "worker")
        {
            Console.Error.WriteLine("usage: worker <command> <args...>");
            return 2;
        }
        return Workers.Run(args[1], args[2..]);
    }
}
