using Tosc.Testing;

namespace Tosc.Tests.Files;

/// <summary>Runs the shared backend contract suite against <see cref="FileBackend"/>: each store is a file in a temporary directory.</summary>
public sealed class FileBackendContractTests : BackendContractTests
{
    private readonly TempDirectory _directory = new();

    protected override IBackend Open(string store) => new FileBackend(WorkerStore(store));

    protected override System.Reflection.Assembly WorkerAssembly => typeof(FileBackendContractTests).Assembly;

    protected override string WorkerStore(string store) => Path.Combine(_directory.Path, store + ".tosc");

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            _directory.Dispose();
    }
}
