/* Private declarations of the front end (features/). */
#ifndef SVX_FEATURES_H
#define SVX_FEATURES_H

#include "shiftvox.h"

/* The parameters a front end was created with. */
const svx_frontend_params *svx_frontend_get_params(const svx_frontend *fe);

#endif
