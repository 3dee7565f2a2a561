# OTA_SANITIZE=ON builds everything with ASan and UBSan, and makes any
# finding fatal so that ctest sees a failure, not a log line.
option(OTA_SANITIZE "build with AddressSanitizer and UBSan" OFF)
if(OTA_SANITIZE)
	set(_san -fsanitize=address,undefined -fno-sanitize-recover=all
		-fno-omit-frame-pointer)
	add_compile_options(${_san})
	add_link_options(${_san})
endif()
if(OTA_FUZZ)
	add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
		-fno-omit-frame-pointer)
	add_link_options(-fsanitize=address,undefined)
endif()
