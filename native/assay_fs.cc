/*
 * assay_fs: reads small regular files whole, many in one thread-pool job. Node's fs needs four jobs a file
 * (open, fstat, read, close), each a round trip between the event loop and the pool, and every job wakes a
 * pool thread; for a scan of many small files those round trips cost more main-thread time than the files'
 * content does.
 *
 * readSmallFiles(paths, maxBytes, budgetBytes): Promise<Array<{ data, size, mode, uid, gid, ino, mtimeMs,
 * ctimeMs } | undefined>> reads the files in order until their bytes reach budgetBytes (at least one file is
 * read), so the array may be shorter than paths: the caller asks again for the rest. An entry is undefined
 * for anything but a non-empty regular file of at most maxBytes that could be opened and read whole
 * (missing, unreadable, a folder, special, empty, too big, changed size while read, a NUL in the path): the
 * caller then takes its general path, which reports the reason. It never rejects for a file system error.
 *
 * statFiles(paths): Promise<Float64Array> stats (following links) many files in one job, for a folder walk:
 * (size, mtimeMs) per path, (-1, -1) where stat failed.
 */
#include <vector>
#include <node_api.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

// Both functions run one job on the thread pool and settle a promise with its result.
template <typename Job>
napi_value QueueJob(napi_env env, Job *job, const char *name, napi_async_execute_callback execute,
                    napi_async_complete_callback complete) {
  napi_value promise, resource;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  napi_create_async_work(env, nullptr, resource, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

template <typename Job>
void SettleJob(napi_env env, Job *job, napi_value result) {
  napi_resolve_deferred(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  delete job;
}

struct FileRead {
  std::string path;
  bool ok = false;
  char *data = nullptr;
  size_t size = 0;
  struct stat st {};
};

struct ReadJob {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  std::vector<FileRead> files;
  int64_t max_bytes = 0;
  int64_t budget_bytes = 0;
  /** Files read (or tried), from the first. */
  size_t done = 0;

  ~ReadJob() {
    for (FileRead &file : files) std::free(file.data);
  }
};

double Millis(const struct timespec &ts) {
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void ReadOne(FileRead &file, int64_t max_bytes) {
  if (file.path.empty()) return;  // a path with a NUL byte names no file
  // O_NONBLOCK: a FIFO put where a file was must not block a pool thread (regular files ignore it).
  const int fd = open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return;
  if (fstat(fd, &file.st) == 0 && S_ISREG(file.st.st_mode) && file.st.st_size > 0 &&
      file.st.st_size <= max_bytes) {
    const size_t want = static_cast<size_t>(file.st.st_size);
    file.data = static_cast<char *>(std::malloc(want));
    size_t total = 0;
    while (file.data && total < want) {
      const ssize_t n = read(fd, file.data + total, want - total);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      total += static_cast<size_t>(n);
    }
    // A file that shrank while read is handed to the general path, like any other surprise.
    file.ok = file.data != nullptr && total == want;
    file.size = total;
  }
  close(fd);
}

void Execute(napi_env, void *raw) {
  auto *job = static_cast<ReadJob *>(raw);
  int64_t bytes = 0;
  while (job->done < job->files.size() && (job->done == 0 || bytes < job->budget_bytes)) {
    FileRead &file = job->files[job->done++];
    ReadOne(file, job->max_bytes);
    if (file.ok) bytes += static_cast<int64_t>(file.size);
  }
}

void SetNumber(napi_env env, napi_value object, const char *name, double value) {
  napi_value number;
  napi_create_double(env, value, &number);
  napi_set_named_property(env, object, name, number);
}

void FreeData(napi_env, void *data, void *) { std::free(data); }

napi_value FileResult(napi_env env, FileRead &file) {
  napi_value result;
  if (!file.ok) {
    napi_get_undefined(env, &result);
    return result;
  }
  napi_create_object(env, &result);
  napi_value buffer;
  // The buffer takes ownership of the malloc'd bytes: no copy.
  if (napi_create_external_buffer(env, file.size, file.data, FreeData, nullptr, &buffer) == napi_ok) {
    file.data = nullptr;
  } else {
    void *copy = nullptr;
    napi_create_buffer_copy(env, file.size, file.data, &copy, &buffer);
  }
  napi_set_named_property(env, result, "data", buffer);
  SetNumber(env, result, "size", static_cast<double>(file.st.st_size));
  SetNumber(env, result, "mode", static_cast<double>(file.st.st_mode));
  SetNumber(env, result, "uid", static_cast<double>(file.st.st_uid));
  SetNumber(env, result, "gid", static_cast<double>(file.st.st_gid));
  SetNumber(env, result, "ino", static_cast<double>(file.st.st_ino));
  SetNumber(env, result, "mtimeMs", Millis(file.st.st_mtim));
  SetNumber(env, result, "ctimeMs", Millis(file.st.st_ctim));
  return result;
}

void Complete(napi_env env, napi_status, void *raw) {
  auto *job = static_cast<ReadJob *>(raw);
  napi_value array;
  napi_create_array_with_length(env, job->done, &array);
  for (size_t i = 0; i < job->done; i++)
    napi_set_element(env, array, static_cast<uint32_t>(i), FileResult(env, job->files[i]));
  SettleJob(env, job, array);
}

/** The strings of a JS array; false when it is not an array of strings. Paths with a NUL become "". */
bool GetPaths(napi_env env, napi_value value, std::vector<std::string> &out) {
  uint32_t count = 0;
  if (napi_get_array_length(env, value, &count) != napi_ok) return false;
  out.resize(count);
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    size_t length = 0;
    napi_get_element(env, value, i, &item);
    if (napi_get_value_string_utf8(env, item, nullptr, 0, &length) != napi_ok) return false;
    out[i].resize(length);
    napi_get_value_string_utf8(env, item, out[i].data(), length + 1, &length);
    if (out[i].find('\0') != std::string::npos) out[i].clear();
  }
  return true;
}

napi_value ReadSmallFiles(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  auto *job = new ReadJob();
  std::vector<std::string> paths;
  if (argc < 3 || !GetPaths(env, argv[0], paths) ||
      napi_get_value_int64(env, argv[1], &job->max_bytes) != napi_ok ||
      napi_get_value_int64(env, argv[2], &job->budget_bytes) != napi_ok) {
    delete job;
    napi_throw_type_error(env, "ASSAY_FS",
                          "readSmallFiles(paths, maxBytes, budgetBytes): paths must be an array of strings");
    return nullptr;
  }
  job->files.resize(paths.size());
  for (size_t i = 0; i < paths.size(); i++) job->files[i].path = std::move(paths[i]);
  return QueueJob(env, job, "assay.readSmallFiles", Execute, Complete);
}

struct StatJob {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  std::vector<std::string> paths;
  std::vector<double> out;
};

void ExecuteStats(napi_env, void *raw) {
  auto *job = static_cast<StatJob *>(raw);
  job->out.resize(job->paths.size() * 2);
  for (size_t i = 0; i < job->paths.size(); i++) {
    struct stat st {};
    const bool ok = stat(job->paths[i].c_str(), &st) == 0;
    job->out[2 * i] = ok ? static_cast<double>(st.st_size) : -1;
    job->out[2 * i + 1] = ok ? Millis(st.st_mtim) : -1;
  }
}

void CompleteStats(napi_env env, napi_status, void *raw) {
  auto *job = static_cast<StatJob *>(raw);
  napi_value buffer, array;
  void *data = nullptr;
  napi_create_arraybuffer(env, job->out.size() * sizeof(double), &data, &buffer);
  if (!job->out.empty()) std::memcpy(data, job->out.data(), job->out.size() * sizeof(double));
  napi_create_typedarray(env, napi_float64_array, job->out.size(), buffer, 0, &array);
  SettleJob(env, job, array);
}

napi_value StatFiles(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  auto *job = new StatJob();
  // A path with a NUL byte cannot name a file: stat("") fails, so it reads as a failed stat.
  if (argc < 1 || !GetPaths(env, argv[0], job->paths)) {
    delete job;
    napi_throw_type_error(env, "ASSAY_FS", "statFiles(paths): paths must be an array of strings");
    return nullptr;
  }
  return QueueJob(env, job, "assay.statFiles", ExecuteStats, CompleteStats);
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"readSmallFiles", nullptr, ReadSmallFiles, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"statFiles", nullptr, StatFiles, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
