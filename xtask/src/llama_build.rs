//! Building llama-server from source: CPU-only, Release, only the `llama-server` target, from the
//! llama.cpp tree vendored in the PyPI sdist of llama-cpp-python (the crates.io llama.cpp crates do not
//! ship the server sources).
//!
//! Layout under the cache: `downloads/llama_cpp_python-V.tar.gz`, `src/llama.cpp-from-llama-cpp-python-V`,
//! `build/llama.cpp-lcp-V-nativeON` (kept, so a rebuild is incremental), `bin/llama-server` and its
//! `.buildinfo`, `logs/build-llama-server.log`, and `tools-venv/` when cmake comes from PyPI.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::process::{output_if_success, run_logged_with_progress};
use crate::setup::{
    find_on_path, llama_server_version, pip_download, require_python, Cache,
    LLAMA_CPP_PYTHON_VERSION,
};

const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// `GGML_NATIVE=ON`: the binary is built for this machine's CPU and only ever runs here.
const GGML_NATIVE: &str = "ON";

/// Added to `-march=native`: on CPUs with AMX, native builds compile ggml's AMX kernels, and those
/// crash (SIGSEGV at `ldtilecfg` while loading any model) on machines whose kernel does not grant
/// AMX tile state even though `arch_prctl` reports success, as on this project's sandboxed machines.
/// GCC and clang keep an explicit `-mno-…` over what `-march=native` enables, whatever the order.
const CPU_FLAGS: &str = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16";

/// Names this build recipe in the `.buildinfo`; a cached binary built by another recipe (such as a
/// native build with AMX) is rebuilt rather than trusted.
pub const RECIPE: &str = "llama-cpp-python-0.3.36/vendor/llama.cpp cpu-release native no-amx";

/// CMake cache entries for a CPU-only server build without tests, examples, web UI or network extras.
const CMAKE_DEFINES: &[&str] = &[
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_CUDA=OFF",
    "-DGGML_VULKAN=OFF",
    "-DGGML_METAL=OFF",
    "-DGGML_RPC=OFF",
    "-DGGML_CCACHE=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
];

const COMPILER_HINT: &str =
    "install a C++ compiler (Debian/Ubuntu: apt-get install g++, or build-essential)";

/// Builds and installs `<cache>/bin/llama-server`, printing each phase and its progress.
pub fn build(cache: &Cache) -> Result<()> {
    let started = Instant::now();
    let log = cache.dir("logs")?.join("build-llama-server.log");
    fs::write(&log, "").with_context(|| format!("cannot reset {}", log.display()))?;
    println!(
        "[setup] building llama-server from llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}'s vendored \
         llama.cpp (CPU, Release); the first build takes several minutes"
    );
    let python = require_python()?;
    let source = ensure_source(cache, &python, &log)?;
    require_cxx_compiler()?;
    let tools = build_tools(cache, &python, &log)?;
    let build_dir = cache.dir("build")?.join(format!(
        "llama.cpp-lcp-{LLAMA_CPP_PYTHON_VERSION}-native{GGML_NATIVE}"
    ));
    discard_build_dir_of_other_generator(&build_dir, tools.generator)?;
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);

    let mut configure = tools.cmake_command();
    configure
        .arg("-S")
        .arg(&source)
        .arg("-B")
        .arg(&build_dir)
        .args(["-G", tools.generator])
        .arg(format!("-DGGML_NATIVE={GGML_NATIVE}"))
        .arg(format!("-DCMAKE_C_FLAGS={CPU_FLAGS}"))
        .arg(format!("-DCMAKE_CXX_FLAGS={CPU_FLAGS}"))
        .args(CMAKE_DEFINES);
    run_logged_with_progress(
        &mut configure,
        &log,
        "configuring llama.cpp",
        PROGRESS_EVERY,
    )
    .with_context(|| format!("configuring failed; if a compiler is missing, {COMPILER_HINT}"))?;

    let mut compile = tools.cmake_command();
    compile
        .arg("--build")
        .arg(&build_dir)
        .args(["--config", "Release", "--target", "llama-server", "-j"])
        .arg(jobs.to_string());
    let compile_time = run_logged_with_progress(
        &mut compile,
        &log,
        &format!("compiling llama-server with {jobs} jobs"),
        PROGRESS_EVERY,
    )
    .with_context(|| format!("compiling failed; {COMPILER_HINT}"))?;

    let installed = install(&build_dir.join("bin").join("llama-server"), cache)?;
    write_buildinfo(&installed, &source, jobs, started.elapsed(), compile_time)?;
    println!(
        "[setup] llama-server built and installed at {} in {} s",
        installed.display(),
        started.elapsed().as_secs()
    );
    Ok(())
}

/// The extracted llama.cpp tree, downloading and extracting the sdist if needed.
fn ensure_source(cache: &Cache, python: &Path, log: &Path) -> Result<PathBuf> {
    let source = cache.dir("src")?.join(format!(
        "llama.cpp-from-llama-cpp-python-{LLAMA_CPP_PYTHON_VERSION}"
    ));
    if server_source_present(&source) {
        println!("[setup] using llama.cpp source in {}", source.display());
        return Ok(source);
    }
    let sdist_name = format!("llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz");
    // `--no-binary` for this package only, so pip fetches the source distribution.
    let sdist = pip_download(
        cache,
        python,
        &[
            "--no-deps".to_owned(),
            "--no-binary".to_owned(),
            "llama-cpp-python".to_owned(),
            format!("llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"),
        ],
        &sdist_name,
        log,
    )?;
    let partial = source.with_extension("partial");
    if partial.exists() {
        fs::remove_dir_all(&partial)
            .with_context(|| format!("cannot remove {}", partial.display()))?;
    }
    fs::create_dir_all(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut extract = Command::new("tar");
    extract
        .arg("-xzf")
        .arg(&sdist)
        .arg("-C")
        .arg(&partial)
        .arg("--strip-components=3")
        .arg(format!(
            "llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}/vendor/llama.cpp"
        ));
    run_logged_with_progress(
        &mut extract,
        log,
        "extracting vendor/llama.cpp from the sdist",
        PROGRESS_EVERY,
    )?;
    if !server_source_present(&partial) {
        bail!(
            "{} has no tools/server/server.cpp; the sdist layout changed",
            sdist.display()
        );
    }
    if source.exists() {
        fs::remove_dir_all(&source)
            .with_context(|| format!("cannot remove the incomplete {}", source.display()))?;
    }
    fs::rename(&partial, &source)
        .with_context(|| format!("cannot move the source to {}", source.display()))?;
    Ok(source)
}

fn server_source_present(source: &Path) -> bool {
    source.join("tools/server/server.cpp").is_file()
}

fn require_cxx_compiler() -> Result<()> {
    let from_env = std::env::var_os("CXX").map(PathBuf::from);
    let found = from_env
        .into_iter()
        .chain(
            ["c++", "g++", "clang++"]
                .into_iter()
                .filter_map(find_on_path),
        )
        .any(|compiler| output_if_success(Command::new(compiler).arg("--version")).is_some());
    if !found {
        bail!("no working C++ compiler (CXX, c++, g++ or clang++); {COMPILER_HINT}");
    }
    Ok(())
}

/// cmake and the generator to drive it with.
struct BuildTools {
    cmake: PathBuf,
    generator: &'static str,
    /// Prepended to `PATH` so cmake finds the ninja that came with it.
    path_prefix: Option<PathBuf>,
}

impl BuildTools {
    fn cmake_command(&self) -> Command {
        let mut command = Command::new(&self.cmake);
        if let Some(prefix) = &self.path_prefix {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let joined = std::env::join_paths(
                std::iter::once(prefix.clone()).chain(std::env::split_paths(&path)),
            )
            .expect("PATH entries came from PATH and the prefix is a cache folder without ':'");
            command.env("PATH", joined);
        }
        command
    }
}

/// cmake and ninja from the system when present, else from PyPI in `<cache>/tools-venv`.
fn build_tools(cache: &Cache, python: &Path, log: &Path) -> Result<BuildTools> {
    let venv = cache.root.join("tools-venv");
    let venv_bin = venv.join("bin");
    let runs = |tool: &Path| output_if_success(Command::new(tool).arg("--version")).is_some();

    let system_cmake = find_on_path("cmake").filter(|cmake| runs(cmake));
    let cmake = match system_cmake {
        Some(cmake) => cmake,
        None => {
            let venv_cmake = venv_bin.join("cmake");
            if !runs(&venv_cmake) {
                install_tools_venv(&venv, python, log)?;
            }
            venv_cmake
        }
    };
    let system_ninja = find_on_path("ninja").filter(|ninja| runs(ninja));
    let venv_ninja = venv_bin.join("ninja");
    let (generator, path_prefix) = if system_ninja.is_some() {
        ("Ninja", None)
    } else if runs(&venv_ninja) {
        ("Ninja", Some(venv_bin))
    } else {
        ("Unix Makefiles", None)
    };
    println!(
        "[setup] cmake: {} ({generator})",
        output_if_success(Command::new(&cmake).arg("--version"))
            .and_then(|version| version.lines().next().map(str::to_owned))
            .unwrap_or_else(|| cmake.display().to_string())
    );
    Ok(BuildTools {
        cmake,
        generator,
        path_prefix,
    })
}

fn install_tools_venv(venv: &Path, python: &Path, log: &Path) -> Result<()> {
    println!(
        "[setup] no cmake on PATH; installing cmake and ninja from PyPI into {}",
        venv.display()
    );
    let mut create = Command::new(python);
    create.args(["-m", "venv"]).arg(venv);
    run_logged_with_progress(&mut create, log, "creating the tools venv", PROGRESS_EVERY).context(
        "cannot create a Python venv; install python3-venv, or cmake and ninja \
         (Debian/Ubuntu: apt-get install cmake ninja-build)",
    )?;
    let mut install = Command::new(venv.join("bin").join("python"));
    install.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "cmake",
        "ninja",
    ]);
    run_logged_with_progress(
        &mut install,
        log,
        "installing cmake and ninja",
        PROGRESS_EVERY,
    )?;
    Ok(())
}

/// CMake refuses to reuse a build folder configured with another generator, so start that one afresh.
fn discard_build_dir_of_other_generator(build_dir: &Path, generator: &str) -> Result<()> {
    let cache_file = build_dir.join("CMakeCache.txt");
    let Ok(contents) = fs::read_to_string(&cache_file) else {
        return Ok(());
    };
    let configured = contents
        .lines()
        .find_map(|line| line.strip_prefix("CMAKE_GENERATOR:INTERNAL="));
    if configured.is_some_and(|configured| configured != generator) {
        println!(
            "[setup] {} was configured for another generator; starting it afresh",
            build_dir.display()
        );
        fs::remove_dir_all(build_dir)
            .with_context(|| format!("cannot remove {}", build_dir.display()))?;
    }
    Ok(())
}

/// Copies the built binary into `<cache>/bin` under a temporary name, then renames it into place, so
/// the installed path never holds a half-copied file.
fn install(built: &Path, cache: &Cache) -> Result<PathBuf> {
    let installed = cache.llama_server_bin();
    let bin_dir = cache.dir("bin")?;
    let partial = bin_dir.join("llama-server.partial");
    fs::copy(built, &partial).with_context(|| format!("cannot copy {}", built.display()))?;
    fs::set_permissions(&partial, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", partial.display()))?;
    fs::rename(&partial, &installed)
        .with_context(|| format!("cannot install {}", installed.display()))?;
    Ok(installed)
}

fn write_buildinfo(
    installed: &Path,
    source: &Path,
    jobs: usize,
    total: Duration,
    compile: Duration,
) -> Result<()> {
    let built_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?;
    let version = llama_server_version(installed).unwrap_or_else(|| "unknown".to_owned());
    let path = installed.with_extension("buildinfo");
    let info = format!(
        "built_at={}\nbuilt_by=cargo xtask setup\nrecipe={RECIPE}\nsource={}\nggml_native={GGML_NATIVE}\n\
         cpu_flags={CPU_FLAGS}\njobs={jobs}\nbuild_seconds={}\ncompile_seconds={}\n{version}\n",
        crate::clock::utc_timestamp(built_at.as_secs()),
        source.display(),
        total.as_secs(),
        compile.as_secs(),
    );
    fs::write(&path, info).with_context(|| format!("cannot write {}", path.display()))
}

/// Whether the `.buildinfo` next to `binary` says it was built by this [`RECIPE`].
pub fn built_by_current_recipe(binary: &Path) -> bool {
    fs::read_to_string(binary.with_extension("buildinfo")).is_ok_and(|info| {
        info.lines()
            .any(|line| line.strip_prefix("recipe=") == Some(RECIPE))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_buildinfo_naming_the_current_recipe_is_trusted() {
        let dir = std::env::temp_dir().join(format!("xtask-recipe-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("llama-server");
        let cases: &[(Option<String>, bool)] = &[
            (Some(format!("built_at=x\nrecipe={RECIPE}\njobs=2\n")), true),
            (Some("built_at=x\nggml_native=ON\n".to_owned()), false),
            (Some(format!("recipe={RECIPE} plus\n")), false),
            (None, false),
        ];
        for (info, expected) in cases {
            let info_path = binary.with_extension("buildinfo");
            match info {
                Some(info) => fs::write(&info_path, info).unwrap(),
                None => {
                    let _ = fs::remove_file(&info_path);
                }
            }
            assert_eq!(built_by_current_recipe(&binary), *expected, "{info:?}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_build_dir_for_another_generator_is_discarded_and_a_matching_one_kept() {
        let root = std::env::temp_dir().join(format!("xtask-gen-{}", std::process::id()));
        let cases: &[(&str, &str, bool)] = &[
            ("CMAKE_GENERATOR:INTERNAL=Ninja\n", "Ninja", true),
            ("CMAKE_GENERATOR:INTERNAL=Unix Makefiles\n", "Ninja", false),
            ("no generator line\n", "Ninja", true),
        ];
        for (index, (cache_text, generator, kept)) in cases.iter().enumerate() {
            let build_dir = root.join(index.to_string());
            fs::create_dir_all(&build_dir).unwrap();
            fs::write(build_dir.join("CMakeCache.txt"), cache_text).unwrap();
            discard_build_dir_of_other_generator(&build_dir, generator).unwrap();
            assert_eq!(build_dir.exists(), *kept, "{cache_text:?}");
        }
        fs::remove_dir_all(&root).unwrap();
    }
}
