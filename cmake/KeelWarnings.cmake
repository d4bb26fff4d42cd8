# keel_warnings(target): the warning set every keel target builds with; -Werror under KEEL_WERROR.
function(keel_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(KEEL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
