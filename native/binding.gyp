{
  "targets": [
    {
      "target_name": "assay_scan",
      "sources": ["assay_scan.cc"],
      "libraries": ["-lre2"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-std=c++17", "-Wall", "-Wno-deprecated-declarations"]
    },
    {
      "target_name": "assay_fs",
      "sources": ["assay_fs.cc"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall"]
    }
  ]
}
