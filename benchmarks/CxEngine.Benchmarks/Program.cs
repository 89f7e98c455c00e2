using BenchmarkDotNet.Running;
using CxEngine.Benchmarks;

BenchmarkSwitcher.FromAssembly(typeof(ScoringStepBenchmarks).Assembly).Run(args);
